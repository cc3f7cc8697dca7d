"""Distances to nearest neighbours (aae.data.neighbours)."""

import torch

from aae.data import kth_neighbour_distance


def test_kth_neighbour_distance_matches_a_full_sort_and_skips_the_row_itself():
    x = torch.rand(150, 12, generator=torch.Generator().manual_seed(0))
    full = torch.cdist(x.double(), x.double())
    full.fill_diagonal_(float("inf"))
    for k in (1, 4):
        got = kth_neighbour_distance(x, k, chunk=32)  # several chunks, the last one short
        torch.testing.assert_close(got.double(), full.sort(1).values[:, k - 1], rtol=1e-4, atol=1e-4)


def test_uint8_pixels_are_measured_in_float_units_and_duplicates_are_neighbours():
    pixels = torch.tensor([[0, 0], [0, 0], [255, 0]], dtype=torch.uint8)
    d = kth_neighbour_distance(pixels, 1)
    torch.testing.assert_close(d, torch.tensor([0.0, 0.0, 1.0]))
    assert torch.equal(kth_neighbour_distance(pixels, 9), torch.tensor([1.0, 1.0, 1.0]))  # k capped at n - 1
    assert kth_neighbour_distance(pixels[:1], 3).tolist() == [0.0]


def test_rows_give_those_rows_distances_against_all_of_x():
    x = torch.rand(90, 5, generator=torch.Generator().manual_seed(1))
    rows = torch.tensor([7, 0, 89, 7])
    torch.testing.assert_close(kth_neighbour_distance(x, 3, chunk=2, rows=rows), kth_neighbour_distance(x, 3)[rows])
