"""Paired statistics for two runs scored on the same samples: intervals, tests, corrections.

Everything here takes the per-sample values of the base and the candidate run *aligned* (the
same sample at the same position) and never looks at anything else, so each function can be
checked against a textbook computation:

* :func:`paired_bootstrap_ci`: percentile interval of ``mean(cand) - mean(base)``, resampling
  samples (both sides drawn with the same indices, which is what makes it paired).
* :func:`mcnemar_exact`: the exact McNemar test for 0/1 metrics, a two-sided binomial test on
  the discordant pairs (as ``statsmodels``' ``mcnemar(table, exact=True)``).
* :func:`sign_flip_test`: the paired permutation test of the mean difference for any other
  metric: under "no difference" each pair's difference is as likely to have either sign. It is
  exact whenever that is affordable: by convolution when the differences lie on a lattice
  (VQA accuracy moves in steps of 1/30, Acc@IoU in steps of 1), by enumeration when at most
  :data:`EXACT_LIMIT` differences are non-zero; otherwise Monte Carlo, seeded, with the
  ``(1 + hits) / (1 + resamples)`` estimate that is never 0.
* :func:`holm`: Holm's step-down adjustment when several metrics are gated at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

import numpy as np

from evalkit.score.bootstrap import bootstrap_indices, percentile_interval

__all__ = [
    "EXACT_LIMIT",
    "TestResult",
    "holm",
    "is_binary",
    "lattice",
    "mcnemar_exact",
    "monte_carlo_p",
    "paired_bootstrap_ci",
    "sign_flip_test",
]

EXACT_LIMIT = 20
"""Enumerate all sign assignments when at most this many differences are non-zero (2^20)."""
_LATTICE_MAX_STEPS = 1000  # the finest lattice tried: differences in steps of 1/1000
_LATTICE_MAX_CELLS = 4_000_000  # the largest null distribution (in cells) convolved exactly
_TIE = 1e-9  # relative tolerance: a null statistic this close to the observed one counts


@dataclass(frozen=True)
class TestResult:
    """A p-value and the name of the test that gave it."""

    p_value: float
    test: str
    """``mcnemar-exact``, ``permutation-exact`` or ``permutation-mc``."""
    resamples: int | None = None
    """Monte Carlo draws (``permutation-mc`` only)."""


def paired_bootstrap_ci(
    base: Sequence[float] | np.ndarray,
    cand: Sequence[float] | np.ndarray,
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float | None, float | None]:
    """Percentile interval of ``mean(cand - base)`` over resampled samples.

    >>> paired_bootstrap_ci([0, 0, 1], [1, 1, 2])
    (1.0, 1.0)
    """
    diff = np.asarray(cand, dtype=np.float64) - np.asarray(base, dtype=np.float64)
    if diff.size == 0 or resamples <= 0:
        return None, None
    draws = np.concatenate(
        [diff[idx].mean(axis=1) for idx in bootstrap_indices(diff.size, resamples=resamples,
                                                               seed=seed)]
    )  # fmt: skip
    return percentile_interval(draws, confidence)


def is_binary(*values: Sequence[float] | np.ndarray) -> bool:
    """Whether every value is exactly 0 or 1 (a right-or-wrong metric).

    >>> is_binary([0.0, 1.0], [1.0]), is_binary([0.0, 0.3])
    (True, False)
    """
    return all(bool(np.isin(np.asarray(v, dtype=np.float64), (0.0, 1.0)).all()) for v in values)


def _binomial_cdf_half(k: int, n: int) -> float:
    """``P(X <= k)`` for ``X ~ Binomial(n, 1/2)``, exactly (integer sums, one division)."""
    return float(sum(comb(n, i) for i in range(k + 1)) / 2**n)


def mcnemar_exact(n_better: int, n_worse: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (binomial, p = 1/2).

    ``n_better``: pairs wrong in the base and right in the candidate; ``n_worse``: the other
    way round. Concordant pairs carry no information and do not enter.

    >>> mcnemar_exact(0, 5), mcnemar_exact(3, 3), mcnemar_exact(0, 0)
    (0.0625, 1.0, 1.0)
    """
    n = n_better + n_worse
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * _binomial_cdf_half(min(n_better, n_worse), n))


def lattice(diffs: np.ndarray) -> int | None:
    """The smallest K <= 1000 with every ``diff * K`` an integer (to 1e-9), or ``None``.

    >>> lattice(np.array([1/3, -2/3, 1.0])), lattice(np.array([0.5, 0.25])), lattice(np.array([0.1234567]))
    (3, 4, None)
    """  # noqa: E501
    for steps in range(1, _LATTICE_MAX_STEPS + 1):
        scaled = diffs * steps
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-9 * max(1, steps)):
            return steps
    return None


def _exact_lattice(ints: np.ndarray) -> float:
    """P(|sum s_i k_i| >= |sum k_i|) for random signs s_i, by convolving per-value binomials."""
    observed = int(abs(ints.sum()))
    total = int(np.abs(ints).sum())
    values, counts = np.unique(np.abs(ints[ints != 0]), return_counts=True)
    # the null distribution over sums -total..total, index = sum + total
    pmf = np.zeros(2 * total + 1)
    pmf[total] = 1.0
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        # count copies of +-value: value * (2B - count), B ~ Binomial(count, 1/2)
        binom = np.array([comb(count, b) for b in range(count + 1)], dtype=np.float64)
        binom /= binom.sum()
        step = np.zeros(2 * value * count + 1)
        step[:: 2 * value] = binom
        pmf = _convolve_centered(pmf, step)
    sums = np.arange(-total, total + 1)
    return float(min(1.0, pmf[np.abs(sums) >= observed].sum()))


def _convolve_centered(pmf: np.ndarray, step: np.ndarray) -> np.ndarray:
    """``pmf * step`` trimmed back to ``pmf``'s support (both centred, the result fits)."""
    full = np.convolve(pmf, step) if min(pmf.size, step.size) < 512 else _fft_convolve(pmf, step)
    cut = (step.size - 1) // 2
    out = full[cut : cut + pmf.size]
    return np.clip(out, 0.0, None)


def _fft_convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    size = a.size + b.size - 1
    n = 1 << (size - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(a, n) * np.fft.rfft(b, n), n)[:size]


def _exact_enumeration(diffs: np.ndarray) -> float:
    """P(|sum s_i d_i| >= |sum d_i|) over all 2^n sign assignments (n <= EXACT_LIMIT)."""
    observed = abs(float(diffs.sum()))
    tie = _TIE * max(observed, 1e-300)
    n = diffs.size
    hits = 0
    chunk = 1 << min(n, 16)
    bits = np.arange(n)
    for start in range(0, 1 << n, chunk):
        codes = np.arange(start, min(start + chunk, 1 << n))
        signs = 1.0 - 2.0 * ((codes[:, None] >> bits) & 1)
        hits += int((np.abs(signs @ diffs) >= observed - tie).sum())
    return hits / float(1 << n)


def sign_flip_test(
    base: Sequence[float] | np.ndarray,
    cand: Sequence[float] | np.ndarray,
    *,
    resamples: int = 10_000,
    seed: int = 0,
) -> TestResult:
    """Paired permutation (sign-flip) test of ``mean(cand - base) = 0``, two-sided.

    Exact when the differences lie on a lattice of at most 1000 steps per unit, or when at
    most :data:`EXACT_LIMIT` are non-zero; Monte Carlo with ``resamples`` seeded draws
    otherwise. Two-sided as ``scipy.stats.permutation_test`` is: the null distribution is
    symmetric, so twice the smaller tail equals ``P(|T*| >= |T|)``.

    >>> sign_flip_test([0, 0, 0], [1, 1, 1])
    TestResult(p_value=0.25, test='permutation-exact', resamples=None)
    """
    diff = np.asarray(cand, dtype=np.float64) - np.asarray(base, dtype=np.float64)
    nonzero = diff[diff != 0.0]
    if nonzero.size == 0:
        return TestResult(1.0, "permutation-exact")
    steps = lattice(nonzero)
    if steps is not None:
        ints = np.round(nonzero * steps).astype(np.int64)
        if 2 * int(np.abs(ints).sum()) + 1 <= _LATTICE_MAX_CELLS:
            return TestResult(_exact_lattice(ints), "permutation-exact")
    if nonzero.size <= EXACT_LIMIT:
        return TestResult(_exact_enumeration(nonzero), "permutation-exact")
    rng = np.random.default_rng(seed)
    null = [
        (rng.integers(0, 2, size=(min(1024, resamples - done), nonzero.size)) * 2.0 - 1.0) @ nonzero
        for done in range(0, resamples, 1024)
    ]
    p = monte_carlo_p(np.concatenate(null), float(nonzero.sum()))
    return TestResult(p, "permutation-mc", resamples)


def monte_carlo_p(null: np.ndarray, observed: float) -> float:
    """Two-sided Monte Carlo p-value, ``(1 + #{|T*| >= |T|}) / (1 + draws)``: never 0.

    A draw within a relative 1e-9 of the observed statistic counts as reaching it.

    >>> monte_carlo_p(np.array([0.5, -2.0, 1.0]), 1.0)
    0.75
    """
    size = abs(observed)
    hits = int((np.abs(null) >= size - _TIE * size).sum())
    return (1 + hits) / (1 + null.size)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (as ``statsmodels``' ``multipletests(method="holm")``).

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
