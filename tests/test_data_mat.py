"""SVHN and TFD readers on small .mat files in the real layouts, written by the tests."""

import hashlib

import numpy as np
import pytest
import scipy.io
import torch

from aae.data.datasets import load_splits, load_svhn
from aae.data.fetch import find_file
from aae.data.formats import read_svhn_mat, read_tfd_mat
from aae.errors import AAEError
from conftest import write_svhn_file, write_svhn_set, write_tfd_file


def test_svhn_layout_and_label_ten_is_zero(tmp_path):
    f = write_svhn_file(tmp_path / "train_32x32.mat", 6, labels=[10, 1, 2, 10, 9, 5])
    x, y = read_svhn_mat(tmp_path / "train_32x32.mat")
    assert x.shape == (6, 3072) and x.dtype == np.uint8
    assert y.tolist() == [0, 1, 2, 0, 9, 5] and y.dtype == np.int64
    # row i reshaped to (3, 32, 32) is image i as (channel, row, column)
    img = x.reshape(6, 3, 32, 32)
    np.testing.assert_array_equal(img[4, 2], f["X"][:, :, 2, 4])
    np.testing.assert_array_equal(img[1].transpose(1, 2, 0), f["X"][..., 1])


def test_svhn_splits_and_extra(tmp_path):
    checks = write_svhn_set(tmp_path / "svhn")
    s = load_splits("svhn", tmp_path, validation=2, checksums=checks, download_missing=False)
    assert s.x_train.shape == (10, 3072) and s.x_val.shape == (2, 3072) and s.x_test.shape == (5, 3072)
    assert s.x_train.dtype == torch.uint8  # kept as bytes; converted per mini-batch
    assert s.image_shape == (3, 32, 32) and s.n_classes == 10 and s.data_dim == 3072
    e = load_splits("svhn+extra", tmp_path, validation=2, checksums=checks, download_missing=False)
    # validation comes from the train file, extra is appended to training
    assert len(e.x_train) == 10 + 7 and torch.equal(e.x_val, s.x_val)
    assert torch.equal(e.x_train[:10], s.x_train)
    x_extra, y_extra = load_svhn("extra", tmp_path, checksums=checks, download_missing=False)
    assert torch.equal(e.x_train[10:], x_extra) and torch.equal(e.y_train[10:], y_extra)
    labeled = load_splits("svhn", tmp_path, validation=2, n_labeled=0, checksums=checks, download_missing=False)
    assert (labeled.y_train == -1).all()


def test_svhn_upstream_size_and_md5_are_checked(tmp_path):
    write_svhn_file(tmp_path / "svhn" / "test_32x32.mat", 3)
    # the real tables: a small file is named as truncated, with the expected size
    with pytest.raises(AAEError, match=r"expected 64,275,384 \(truncated"):
        find_file("svhn", "test_32x32.mat", tmp_path, download_missing=False)
    wrong = {"svhn": {"test_32x32.mat": "md5:" + "0" * 32}}
    with pytest.raises(AAEError, match="checksum mismatch .md5 .*expected 0000.*delete it"):
        find_file("svhn", "test_32x32.mat", tmp_path, checksums=wrong)
    size = (tmp_path / "svhn" / "test_32x32.mat").stat().st_size
    md5 = hashlib.md5((tmp_path / "svhn" / "test_32x32.mat").read_bytes()).hexdigest()
    right = {"svhn": {"test_32x32.mat": "md5:" + md5}}
    assert find_file("svhn", "test_32x32.mat", tmp_path, checksums=right, sizes={"svhn": {"test_32x32.mat": size}})
    with pytest.raises(AAEError, match="bytes, expected"):
        find_file("svhn", "test_32x32.mat", tmp_path, checksums=right, sizes={"svhn": {"test_32x32.mat": size + 1}})


@pytest.mark.parametrize(
    "write, msg",
    [
        (lambda p: write_svhn_file(p, 4, labels=[1, 2, 0, 3]), r"label 0 at index 2 is outside 1\.\.10"),
        (lambda p: write_svhn_file(p, 4, labels=[1, 11, 2, 3]), "label 11 at index 1"),
        (lambda p: scipy.io.savemat(p, {"X": np.zeros((32, 32, 3, 2), np.uint8)}), r"\['y'\] missing"),
        (lambda p: scipy.io.savemat(p, {"X": np.zeros((28, 28, 2), np.uint8), "y": np.ones((2, 1))}), "X has shape"),
        (lambda p: scipy.io.savemat(p, {"X": np.zeros((32, 32, 3, 2)), "y": np.ones((2, 1))}), "dtype float64"),
        (lambda p: scipy.io.savemat(p, {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.ones((3, 1))}), "3 values"),
        (lambda p: scipy.io.savemat(p, {"X": np.zeros((32, 32, 3, 1), np.uint8), "y": [[1.5]]}), "non-integer"),
        (lambda p: p.write_bytes(b"this is not a MATLAB file at all" * 8), "not a readable MATLAB"),
        (lambda p: p.write_bytes(b""), "not a readable MATLAB"),
    ],
)
def test_bad_svhn_files(tmp_path, write, msg):
    p = tmp_path / "f.mat"
    write(p)
    with pytest.raises(AAEError, match=msg):
        read_svhn_mat(p)


@pytest.mark.parametrize("keep", [0.5, 0.01])
def test_truncated_mat_file(tmp_path, keep):
    write_svhn_file(tmp_path / "f.mat", 4)
    raw = (tmp_path / "f.mat").read_bytes()
    (tmp_path / "f.mat").write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(AAEError, match="f.mat: not a readable MATLAB"):
        read_svhn_mat(tmp_path / "f.mat")


def test_tfd_folds_and_labels(tmp_path):
    write_tfd_file(tmp_path / "tfd" / "TFD_48x48.mat", n=40)
    i = np.arange(40)
    labeled = i % 4 != 0
    for fold in (0, 1):
        s = load_splits("tfd", tmp_path, fold=fold)
        part = np.where(labeled, 1 + (i + fold) % 3, 0)  # 0 unlabeled, 1 train, 2 valid, 3 test
        assert s.x_train.shape == (20, 2304) and s.x_val.shape == (10, 2304) and s.x_test.shape == (10, 2304)
        assert s.x_train.dtype == torch.uint8 and s.image_shape == (48, 48) and s.n_classes == 7
        # training = the fold's unlabeled and train parts; face 0's stray label is dropped
        assert s.y_train.tolist() == [k % 7 if part[k] else -1 for k in i if part[k] <= 1]
        assert s.y_val.tolist() == [k % 7 for k in i if part[k] == 2]
        assert s.y_test.tolist() == [k % 7 for k in i if part[k] == 3]
    with pytest.raises(AAEError, match=r"fold must be in 0\.\.4, got 5"):
        load_splits("tfd", tmp_path, fold=5)
    labeled_only = load_splits("tfd", tmp_path, n_labeled=7)
    assert (labeled_only.y_train >= 0).sum() == 7


@pytest.mark.parametrize("field", ["images", "folds", "labs_ex", "labs_id"])
def test_tfd_missing_field_is_named(tmp_path, field):
    write_tfd_file(tmp_path / "TFD_48x48.mat", n=8, drop=field)
    with pytest.raises(AAEError, match=rf"\['{field}'\] missing"):
        read_tfd_mat(tmp_path / "TFD_48x48.mat")


def test_tfd_bad_folds(tmp_path):
    fields = write_tfd_file(tmp_path / "TFD_48x48.mat", n=8)
    scipy.io.savemat(tmp_path / "TFD_48x48.mat", {**fields, "folds": fields["folds"][:, :3]})
    with pytest.raises(AAEError, match=r"folds has shape \(8, 3\); expected 8 x 5"):
        read_tfd_mat(tmp_path / "TFD_48x48.mat")


def test_tfd_missing_file_says_where_to_put_it(tmp_path):
    with pytest.raises(AAEError) as e:
        load_splits("tfd", tmp_path)
    msg = str(e.value)
    assert msg.startswith(
        f"TFD_48x48.mat not found under {tmp_path} (--data-dir), {tmp_path / 'cache' / 'aae'} (cache); "
    )
    assert "distributed on request only" in msg and msg.endswith("put it in <folder>/tfd/") and "\n" not in msg
    assert not (tmp_path / "cache").exists()


def test_unknown_dataset():
    with pytest.raises(AAEError, match="unknown data set 'cifar'"):
        load_splits("cifar")


def test_matlab_v73_file_is_named_as_such(tmp_path):
    """A v7.3 .mat is HDF5 behind MATLAB's 128-byte header (version 0x0200), which scipy cannot read."""
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Nov 23 12:00:00 2026 HDF5 schema 1.00 ."
    header = text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    p = tmp_path / "train_32x32.mat"
    p.write_bytes(header + b"\x89HDF\r\n\x1a\n" + bytes(400))
    with pytest.raises(AAEError, match=r"train_32x32.mat: a MATLAB v7.3 \(HDF5\) file, which is not supported"):
        read_svhn_mat(p)
