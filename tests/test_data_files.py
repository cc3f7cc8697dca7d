"""aae.data.files: where files are looked for, checking their bytes, and the folders a download makes."""

import hashlib

import pytest

from aae.data.files import (
    cache_dir,
    candidate_paths,
    check_file,
    describe_dirs,
    folder_kept_on_success,
    locate,
    search_dirs,
)
from aae.errors import AAEError


def test_lookup_order_and_labels(tmp_path, monkeypatch):
    assert search_dirs(None) == [tmp_path / "cache" / "aae"]  # conftest's $XDG_CACHE_HOME
    monkeypatch.setenv("AAE_DATA", str(tmp_path / "env"))
    assert search_dirs(tmp_path / "d") == [tmp_path / "d", tmp_path / "env", tmp_path / "cache" / "aae"]
    assert describe_dirs(tmp_path / "d") == (
        f"{tmp_path / 'd'} (--data-dir), {tmp_path / 'env'} ($AAE_DATA), {tmp_path / 'cache' / 'aae'} (cache)"
    )
    assert describe_dirs(None, search=[tmp_path / "x"]) == str(tmp_path / "x")
    assert candidate_paths("mnist", "f.gz", None, [tmp_path]) == [tmp_path / "mnist" / "f.gz", tmp_path / "f.gz"]


def test_cache_falls_back_to_home(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "aae"


def test_locate_prefers_the_dataset_subfolder_and_the_earlier_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("AAE_DATA", str(tmp_path / "env"))
    assert locate("svhn", "a.mat", tmp_path / "d") is None
    for p in (tmp_path / "env" / "svhn" / "a.mat", tmp_path / "d" / "a.mat", tmp_path / "d" / "svhn" / "a.mat"):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
        assert locate("svhn", "a.mat", tmp_path / "d") == p


def test_check_file(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    check_file(p, hashlib.sha256(b"abc").hexdigest(), 3)
    check_file(p, "md5:" + hashlib.md5(b"abc").hexdigest())
    check_file(p, None)
    with pytest.raises(AAEError, match=r"f: 3 bytes, expected 4 \(truncated"):
        check_file(p, None, 4)
    with pytest.raises(AAEError, match=r"f: checksum mismatch \(md5 900150983cd24fb0d6963f7d28e17f72, expected 00\)"):
        check_file(p, "md5:00")


def test_folders_made_for_a_failed_step_are_removed(tmp_path):
    (tmp_path / "have").mkdir()
    with pytest.raises(RuntimeError), folder_kept_on_success(tmp_path / "have" / "a" / "b"):
        assert (tmp_path / "have" / "a" / "b").is_dir()
        raise RuntimeError
    assert sorted(tmp_path.rglob("*")) == [tmp_path / "have"]  # the folder that was there stays
    # a folder with something in it (a kept .part file) stays, and so do its parents
    with pytest.raises(RuntimeError), folder_kept_on_success(tmp_path / "have" / "a" / "b") as folder:
        (folder / "f.part").write_bytes(b"x")
        raise RuntimeError
    assert (tmp_path / "have" / "a" / "b" / "f.part").is_file()
    with folder_kept_on_success(tmp_path / "ok" / "c"):
        pass
    assert (tmp_path / "ok" / "c").is_dir()
