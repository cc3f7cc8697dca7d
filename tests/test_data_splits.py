"""aae.data.splits (split protocols, kept labels) and aae.data.datasets (the registry, load_splits)."""

import numpy as np
import pytest
import torch

from aae.config.checks import SPLIT_ORDERS
from aae.data import datasets
from aae.data.datasets import DATASETS, LOADERS, Request, load_splits
from aae.data.splits import (
    ARRAY_SPLITS,
    Splits,
    array_split_rows,
    array_splits,
    as_float,
    balanced_label_mask,
    hold_out,
)
from aae.errors import AAEError


def test_balanced_mask_is_seeded():
    y = torch.arange(1000) % 10
    a, b, c = (balanced_label_mask(y, 100, 10, s) for s in (0, 0, 1))
    assert torch.equal(a, b) and not torch.equal(a, c) and a.sum() == 100
    assert torch.bincount(y[a]).tolist() == [10] * 10
    with pytest.raises(AAEError, match="multiple of the 10 classes"):
        balanced_label_mask(y, 105, 10, 0)
    with pytest.raises(AAEError, match="n_labeled=2000 labels asked for, but the training split has only 1000"):
        balanced_label_mask(y, 2000, 10, 0)


def test_hold_out_takes_validation_from_the_end_and_appends_extra():
    x, y = torch.arange(20.0).reshape(10, 2), torch.arange(10) % 5
    extra = (torch.full((3, 2), -1.0), torch.tensor([4, 4, 4]))
    s = hold_out((x, y), (x[:2], y[:2]), 4, None, extra=extra)
    assert torch.equal(s.x_val, x[6:]) and torch.equal(s.x_train[:6], x[:6]) and torch.equal(s.x_train[6:], extra[0])
    assert s.n_classes == 5 and s.data_dim == 2
    kept = hold_out((x, y), (x[:2], y[:2]), 0, None, n_labeled=5, seed=0)
    assert (kept.y_train >= 0).sum() == 5 and (y >= 0).all()  # the caller's labels are not overwritten
    with pytest.raises(AAEError, match=r"validation=10 must be in \[0, 10\)"):
        hold_out((x, y), (x, y), 10, None)


def test_array_splits_in_file_order():
    x = np.random.default_rng(0).random((50, 16), dtype=np.float32)
    s = array_splits(x, None, validation=100, order="file-order")
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (40, 5, 5)  # validation capped at a tenth
    assert torch.equal(s.x_test, torch.from_numpy(x[45:])) and s.image_shape == (4, 4) and s.n_classes == 0
    assert (s.y_train == -1).all()
    assert array_splits(x[:, :15], None).image_shape is None
    with pytest.raises(AAEError, match="n_labeled was set but the data set has no labels"):
        array_splits(x, None, n_labeled=10)
    with pytest.raises(AAEError, match="data.split='sorted'"):
        array_splits(x, None, order="sorted")


def test_a_file_sorted_by_class_gets_every_class_in_every_split():
    y = np.repeat(np.arange(5), 40)  # 200 rows, sorted by class
    x = (y[:, None] + np.zeros((1, 4))).astype(np.float32) / 5
    s = array_splits(x, y, validation=20)
    for part in (s.y_train, s.y_val, s.y_test):
        assert set(part.tolist()) == set(range(5))
    train, val, test = array_split_rows(200, 20)
    assert torch.equal(s.x_test, torch.from_numpy(x[test])) and torch.equal(s.x_val, torch.from_numpy(x[val]))
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(200))  # a partition of the rows
    again = array_splits(x, y, validation=20, seed=3)  # the run's seed draws labels, not the split
    assert torch.equal(again.x_test, s.x_test)
    assert set(array_splits(x, y, validation=20, order="file-order").y_test.tolist()) == {4}


def test_the_split_orders_that_config_allows_are_the_data_layers():
    assert SPLIT_ORDERS == ARRAY_SPLITS


def test_load_splits_of_an_npz_file(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (50, 4, 4)).astype(np.uint8)
    np.savez(tmp_path / "xy.npz", x=x, y=np.arange(50) % 3)
    s = load_splits(str(tmp_path / "xy.npz"))
    assert s.image_shape == (4, 4) and len(s.x_test) == 5 and len(s.x_val) == 5 and s.n_classes == 3
    assert s.x_train.dtype == torch.float32 and s.x_train.max() <= 1


def test_registry_names_every_data_set(monkeypatch):
    assert DATASETS == ("mnist", "fashion-mnist", "svhn", "svhn+extra", "tfd") == tuple(LOADERS)
    seen = []

    def fake(req: Request) -> Splits:
        seen.append(req)
        t = torch.zeros(4, 1)
        return Splits(t, t[:, 0].long(), t, t[:, 0].long(), t, t[:, 0].long(), None, 0)

    monkeypatch.setitem(datasets.LOADERS, "mnist", fake)
    load_splits("mnist", "/d", 7, 3, 2, 1, download_missing=False)
    assert seen == [Request("/d", 7, 3, 2, 1, "shuffled", {"download_missing": False})]


def test_unknown_dataset():
    with pytest.raises(AAEError, match=r"unknown data set 'cifar'; choose one of \['mnist', .*'tfd'\] or a .npy/.npz"):
        load_splits("cifar")


def test_as_float():
    u = torch.tensor([[0, 255, 51]], dtype=torch.uint8)
    torch.testing.assert_close(as_float(u), torch.tensor([[0.0, 1.0, 0.2]]))
    f = torch.rand(2, 3)
    assert as_float(f) is f


def test_real_mnist_splits(shared_data):
    s = load_splits("mnist", shared_data, validation=10000, n_labeled=10000, seed=0)
    assert s.x_train.shape == (50000, 784) and s.x_val.shape == (10000, 784) and s.x_test.shape == (10000, 784)
    assert s.x_train.dtype == torch.float32 and 0 <= s.x_train.min() and s.x_train.max() <= 1
    assert s.n_classes == 10 and s.image_shape == (28, 28)
    counts = torch.bincount(s.y_train[s.y_train >= 0], minlength=10)
    assert counts.tolist() == [1000] * 10 and (s.y_train == -1).sum() == 40000
    assert torch.bincount(s.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
