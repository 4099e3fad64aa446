"""Percentile bootstrap confidence intervals, seeded and vectorised with numpy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["bootstrap_mean_ci"]

_CHUNK = 256  # resamples drawn per numpy call: bounds memory at CHUNK * n indices


def bootstrap_mean_ci(
    values: Sequence[float], *, resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float | None, float | None]:
    """Percentile interval of the mean of ``values`` (``(None, None)`` when undefined).

    >>> bootstrap_mean_ci([1.0, 1.0, 1.0])
    (1.0, 1.0)
    >>> bootstrap_mean_ci([], resamples=10)
    (None, None)
    """
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0 or resamples <= 0:
        return None, None
    rng = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)
    for start in range(0, resamples, _CHUNK):
        stop = min(resamples, start + _CHUNK)
        idx = rng.integers(0, data.size, size=(stop - start, data.size))
        means[start:stop] = data[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)
