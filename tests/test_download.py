"""The resumable downloader and ``aae data``, against local HTTP servers started by the tests."""

import hashlib
import http.server
import json
import re
import threading
import urllib.error

import numpy as np
import pytest

from aae.cli import main
from aae.data import catalog
from aae.data.fetch import download, find_file
from aae.errors import AAEError
from conftest import write_svhn_set, write_tfd_file

BLOB = np.random.default_rng(0).integers(0, 256, 300_000).astype(np.uint8).tobytes()
BLOB_SHA = hashlib.sha256(BLOB).hexdigest()
BLOB_MD5 = "md5:" + hashlib.md5(BLOB).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` (path -> bytes); Range support and connection cuts are per server."""

    def do_GET(self):
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        body = srv.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if m and srv.ranges:
            start = int(m.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            body = body[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.cut_after is not None:  # promise the whole body, send part of it, hang up
            self.wfile.write(body[: srv.cut_after])
            srv.cut_after = None
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """``serve(files, ranges=True, cut_after=None)`` -> (base URL, server); servers stop after the test."""
    servers = []

    def start(files, ranges=True, cut_after=None):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        srv.files, srv.ranges, srv.cut_after, srv.requests = files, ranges, cut_after, []
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}", srv

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def test_resumes_a_partial_file_with_range(tmp_path, serve):
    url, srv = serve({"/f.bin": BLOB})
    dest = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(BLOB[:100_000])
    assert download(url + "/f.bin", dest, BLOB_MD5, size=len(BLOB)) == dest
    assert dest.read_bytes() == BLOB and not (tmp_path / "f.bin.part").exists()
    assert srv.requests == [("/f.bin", "bytes=100000-")]


def test_interrupted_transfer_keeps_part_and_resumes(tmp_path, serve):
    url, srv = serve({"/f.bin": BLOB}, cut_after=70_000)
    dest = tmp_path / "f.bin"
    with pytest.raises(AAEError, match=r"failed .*70,000 bytes kept in .*f.bin.part"):
        download(url + "/f.bin", dest, BLOB_SHA, size=len(BLOB))
    assert not dest.exists() and (tmp_path / "f.bin.part").stat().st_size == 70_000
    download(url + "/f.bin", dest, BLOB_SHA, size=len(BLOB))
    assert dest.read_bytes() == BLOB
    assert srv.requests == [("/f.bin", None), ("/f.bin", "bytes=70000-")]


def test_server_ignoring_range_restarts_cleanly(tmp_path, serve):
    url, srv = serve({"/f.bin": BLOB}, ranges=False)
    (tmp_path / "f.bin.part").write_bytes(b"stale bytes from another file")
    download(url + "/f.bin", tmp_path / "f.bin", BLOB_SHA)
    assert (tmp_path / "f.bin").read_bytes() == BLOB and srv.requests == [("/f.bin", "bytes=29-")]


def test_corrupt_partial_file_is_fetched_again_whole(tmp_path, serve):
    url, srv = serve({"/f.bin": BLOB})
    (tmp_path / "f.bin.part").write_bytes(b"\0" * 1000)  # a prefix the server does not have
    download(url + "/f.bin", tmp_path / "f.bin", BLOB_SHA, size=len(BLOB))
    assert (tmp_path / "f.bin").read_bytes() == BLOB
    assert srv.requests == [("/f.bin", "bytes=1000-"), ("/f.bin", None)]


def test_complete_partial_file_of_unknown_size(tmp_path, serve):
    url, srv = serve({"/f.bin": BLOB})
    (tmp_path / "f.bin.part").write_bytes(BLOB)  # the server answers 416 to a range past its end
    download(url + "/f.bin", tmp_path / "f.bin", BLOB_SHA)
    assert (tmp_path / "f.bin").read_bytes() == BLOB
    assert srv.requests == [("/f.bin", f"bytes={len(BLOB)}-"), ("/f.bin", None)]


def test_wrong_bytes_are_not_kept(tmp_path, serve):
    url, _ = serve({"/f.bin": BLOB[:-1] + b"x"})
    with pytest.raises(AAEError, match=r"download of .*checksum mismatch \(md5 .*not saved"):
        download(url + "/f.bin", tmp_path / "f.bin", BLOB_MD5, size=len(BLOB))
    assert list(tmp_path.iterdir()) == []
    url, _ = serve({"/f.bin": BLOB[:1000]})
    with pytest.raises(AAEError, match=r"1,000 bytes, expected 300,000"):
        download(url + "/f.bin", tmp_path / "f.bin", BLOB_MD5, size=len(BLOB))
    assert list(tmp_path.iterdir()) == []


def test_concurrent_downloads_of_one_file(tmp_path, serve):
    url, srv = serve({"/f.bin": BLOB})
    results, errors = [], []

    def fetch():
        try:
            results.append(download(url + "/f.bin", tmp_path / "f.bin", BLOB_SHA, size=len(BLOB)))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(results) == 3
    assert (tmp_path / "f.bin").read_bytes() == BLOB and sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_aae_mirror_is_tried_first(tmp_path, serve, monkeypatch):
    url, srv = serve({"/svhn/test_32x32.mat": BLOB})
    monkeypatch.setenv("AAE_MIRROR", url + "/")
    checks, sizes = {"svhn": {"test_32x32.mat": BLOB_MD5}}, {"svhn": {"test_32x32.mat": len(BLOB)}}
    path = find_file(
        "svhn", "test_32x32.mat", None, mirrors={"svhn": ["http://127.0.0.1:9/dead/"]}, checksums=checks, sizes=sizes
    )
    assert path == tmp_path / "cache" / "aae" / "svhn" / "test_32x32.mat" and path.read_bytes() == BLOB
    assert srv.requests == [("/svhn/test_32x32.mat", None)]


@pytest.fixture
def svhn_mirror(tmp_path, serve, monkeypatch):
    """Tiny SVHN files served under $AAE_MIRROR, with aae's checksum tables pointing at them."""
    src = tmp_path / "upstream"
    checks = write_svhn_set(src)
    files = {f"/svhn/{p.name}": p.read_bytes() for p in src.iterdir()}
    url, srv = serve(files)
    monkeypatch.setenv("AAE_MIRROR", url)
    monkeypatch.setitem(catalog.CHECKSUMS, "svhn", checks["svhn"])
    monkeypatch.setitem(catalog.SIZES, "svhn", {p.name: p.stat().st_size for p in src.iterdir()})
    monkeypatch.setitem(catalog.MIRRORS, "svhn", [])
    return srv


def test_data_command_download_list_verify(tmp_path, svhn_mirror, capsys):
    d = tmp_path / "d"
    assert main(["data", "download", "svhn", "--data-dir", str(d)]) == 0
    assert sorted(p.name for p in (d / "svhn").iterdir()) == ["test_32x32.mat", "train_32x32.mat"]
    assert "svhn/train_32x32.mat" in capsys.readouterr().out
    # a second time nothing is fetched
    n = len(svhn_mirror.requests)
    assert main(["data", "download", "svhn", "--data-dir", str(d)]) == 0
    assert len(svhn_mirror.requests) == n
    assert main(["data", "download", "svhn-extra", "--data-dir", str(d)]) == 0
    write_tfd_file(d / "tfd" / "TFD_48x48.mat", n=8)
    capsys.readouterr()

    assert main(["data", "list", "--data-dir", str(d)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"svhn +extra_32x32.mat .*size ok .*d/svhn/extra_32x32.mat", out)
    assert re.search(r"tfd +TFD_48x48.mat .*found \(no published checksum\)", out)
    assert re.search(r"mnist +train-images-idx3-ubyte.gz .*missing .*aae data download mnist", out)
    # one licence line per data set
    licences = out.split("licences:\n")[1].splitlines()
    assert [line.split()[0] for line in licences] == ["mnist", "fashion-mnist", "svhn", "tfd"]
    assert "MIT" in licences[1] and "non-commercial" in licences[2] and "on request" in licences[3]

    assert main(["data", "verify", "--data-dir", str(d)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"test_32x32.mat .*verified \(md5\)", out) and "fields ok (8 images" in out

    # a file with the right size but other bytes fails verification
    p = d / "svhn" / "test_32x32.mat"
    raw = bytearray(p.read_bytes())
    raw[-1] ^= 1
    p.write_bytes(bytes(raw))
    assert main(["data", "list", "--data-dir", str(d)]) == 0  # sizes only
    capsys.readouterr()
    assert main(["data", "verify", "--data-dir", str(d)]) == 2
    captured = capsys.readouterr()
    assert re.search(r"test_32x32.mat .*checksum mismatch", captured.out)
    assert captured.err.startswith("error: 1 file(s) are not the upstream files: ") and str(p) in captured.err
    # verifying only other data sets does not read the bad file
    assert main(["data", "verify", "tfd", "--data-dir", str(d)]) == 0
    assert "svhn" not in capsys.readouterr().out.split("\n", 1)[1]
    assert main(["data", "verify", "cifar", "--data-dir", str(d)]) == 2
    assert "unknown data set(s) ['cifar']" in capsys.readouterr().err


def test_data_command_errors(tmp_path, svhn_mirror, capsys):
    assert main(["data", "download", "tfd"]) == 2
    assert "distributed on request only" in capsys.readouterr().err
    svhn_mirror.files.clear()  # the mirror now answers 404
    assert main(["data", "download", "svhn", "--data-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: svhn file train_32x32.mat not found under {tmp_path / 'd'}, and downloading it")
    assert "(HTTP 404 " in err and err.endswith(
        "get it with `aae data download svhn` (or copy it into <folder>/svhn/)\n"
    )
    assert err.count("\n") == 1
    assert not (tmp_path / "d").exists()  # neither an empty .part nor the folders made for it are left behind


def test_interrupted_download_in_find_file_says_it_resumes(tmp_path, serve):
    url, srv = serve({"/svhn/test_32x32.mat": BLOB}, cut_after=70_000)
    checks, sizes = {"svhn": {"test_32x32.mat": BLOB_MD5}}, {"svhn": {"test_32x32.mat": len(BLOB)}}
    kw = {"mirrors": {"svhn": [url + "/svhn/"]}, "checksums": checks, "sizes": sizes}
    with pytest.raises(AAEError) as e:
        find_file("svhn", "test_32x32.mat", None, **kw)
    msg = str(e.value)
    assert "downloading it failed (ConnectionError: the connection closed after 70,000 of 300,000 bytes)" in msg
    assert "; the partial file resumes next time; " in msg and "\n" not in msg
    part = tmp_path / "cache" / "aae" / "svhn" / "test_32x32.mat.part"
    assert part.stat().st_size == 70_000  # kept, with its folder
    assert find_file("svhn", "test_32x32.mat", None, **kw).read_bytes() == BLOB
    assert srv.requests[-1] == ("/svhn/test_32x32.mat", "bytes=70000-")


def test_training_without_data_or_network_is_one_line(tmp_path, monkeypatch, capsys):
    """The user's report, from the command line: ``aae train`` with no MNIST anywhere and no network."""
    from aae.data import fetch

    def offline(*args, **kwargs):
        raise urllib.error.URLError(OSError(101, "Network is unreachable"))

    monkeypatch.setattr(fetch, "_fetch", offline)
    monkeypatch.setenv("AAE_DATA", str(tmp_path / "env"))
    out = tmp_path / "run"
    args = ["train", "mnist-gaussian-2d", "--out", str(out), "--epochs", "1", "--quiet", "--data-dir", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: mnist file train-images-idx3-ubyte.gz not found under ")
    cache = tmp_path / "cache" / "aae"
    assert f"{tmp_path} (--data-dir), {tmp_path / 'env'} ($AAE_DATA), {cache} (cache)" in err
    assert "Network is unreachable" in err and "`aae data download mnist`" in err
    assert not cache.exists() and not out.exists()  # (matplotlib keeps its own cache/matplotlib)


def test_training_reads_downloaded_svhn(tmp_path, svhn_mirror):
    """``aae train`` on svhn downloads into the cache, then trains convolutional networks on uint8 pixels."""
    from conftest import TINY

    out = tmp_path / "run"
    sets = [*TINY, 'data.dataset="svhn"', "data.validation=2", "batch_size=5"]
    sets += ['network.arch="conv"', "network.channels=[4,8]"]
    args = ["train", "mnist-gaussian-2d", "--out", str(out), "--epochs", "1", "--quiet"]
    assert main(args + [a for s in sets for a in ("--set", s)]) == 0
    assert (tmp_path / "cache" / "aae" / "svhn" / "train_32x32.mat").is_file()
    for name in ("samples.png", "reconstructions.png", "manifold.png"):
        assert (out / "figures" / name).stat().st_size > 1000
    assert json.loads((out / "model.json").read_text())["image_shape"] == [3, 32, 32]
    assert main(["sample", str(out), "-n", "4", "-o", str(tmp_path / "s.png")]) == 0  # colour grid
    assert main(["encode", str(out), "--split", "train", "-o", str(tmp_path / "c.npy")]) == 0
    assert np.load(tmp_path / "c.npy").shape == (10, 2)
