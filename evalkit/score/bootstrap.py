"""Percentile bootstrap over samples, seeded and vectorised with numpy."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["bootstrap_indices", "bootstrap_mean_ci", "percentile_interval"]

_CHUNK = 256  # resamples drawn per numpy call: bounds memory at CHUNK * n indices


def bootstrap_indices(n: int, *, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Index matrices (chunk × n) of resamples with replacement; ``resamples`` rows in all."""
    rng = np.random.default_rng(seed)
    for start in range(0, resamples, _CHUNK):
        yield rng.integers(0, n, size=(min(resamples, start + _CHUNK) - start, n))


def percentile_interval(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central ``confidence`` interval of bootstrap draws."""
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [alpha, 1.0 - alpha])
    return float(low), float(high)


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
    means = np.concatenate(
        [
            data[idx].mean(axis=1)
            for idx in bootstrap_indices(data.size, resamples=resamples, seed=seed)
        ]
    )
    return percentile_interval(means, confidence)
