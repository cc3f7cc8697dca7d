"""Per-dimension standardization, the paper's TFD and SVHN preprocessing: ``(x - mean) / std``.

:func:`standardize` and :func:`unstandardize` are the arithmetic, for the data side
(:class:`Standardizer`, fitted on training pixels) and for the model side
(:class:`aae.networks.Standardize`, which holds the same statistics as buffers saved with
the weights): one formula, so that what the data side computes is what the model computes
(tests/test_standardize.py checks that the two agree).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aae.data.splits import as_float


def standardize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``(x - mean) / std``: ``x`` ``(n, d)`` float in data units, ``mean`` and ``std`` ``(d,)`` in the same units."""
    return (x - mean) / std


def unstandardize(h: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Standardized values ``h`` ``(n, d)`` back to data units, clipped to [0, 1] (pixels)."""
    return (h * std + mean).clamp(0, 1)


@dataclass
class Standardizer:
    """Per-dimension standardization fitted on data: ``(x - mean) / std``.

    ``mean`` and ``std`` are ``(d,)`` in the units of :func:`~aae.data.splits.as_float` ([0, 1]
    for images); :meth:`inverse` maps model outputs (e.g. decoded samples) back to [0, 1] for display.
    """

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, x: torch.Tensor, min_std: float = 1e-3, chunk: int = 10000) -> Standardizer:
        """Mean and std of ``x`` ``(n, d)`` per column, summed in float64 chunks (uint8 stays uint8).

        Chunks keep memory at ``chunk`` rows of float64 (SVHN+extra is 1.9 GB as uint8);
        ``min_std`` keeps (nearly) constant pixels from dividing by zero.
        """
        s = torch.zeros(x.shape[1], dtype=torch.float64)
        s2 = torch.zeros_like(s)
        for i in range(0, len(x), chunk):
            b = as_float(x[i : i + chunk]).double()
            s += b.sum(0)
            s2 += (b * b).sum(0)
        mean = s / len(x)
        std = (s2 / len(x) - mean * mean).clamp_min(0).sqrt().clamp_min(min_std)
        return cls(mean.float(), std.float())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(n, d)`` (uint8 pixels or float data) standardized, float32 on ``x``'s device."""
        return standardize(as_float(x), self.mean.to(x.device), self.std.to(x.device))

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        """Standardized values back to data units, clipped to [0, 1]."""
        return unstandardize(x, self.mean.to(x.device), self.std.to(x.device))
