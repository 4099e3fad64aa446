"""The paired tests against the reference implementations (scipy, statsmodels) to 1e-9."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from evalkit.compare.stats import (
    holm,
    lattice,
    mcnemar_exact,
    paired_bootstrap_ci,
    sign_flip_test,
)

from ..conftest import lazy_import

scipy_stats: Any = lazy_import("scipy.stats")
contingency: Any = lazy_import("statsmodels.stats.contingency_tables")
multitest: Any = lazy_import("statsmodels.stats.multitest")


def _scipy_exact(diff: np.ndarray) -> float:
    result = scipy_stats.permutation_test(
        (diff,),
        lambda x, axis: np.mean(x, axis=axis),
        permutation_type="samples",
        n_resamples=np.inf,
        vectorized=True,
        alternative="two-sided",
    )
    return float(result.pvalue)


@pytest.mark.parametrize(
    ("better", "worse"),
    [(0, 0), (0, 1), (0, 5), (3, 3), (2, 9), (17, 4), (40, 61), (250, 301), (1000, 1100)],
)
def test_mcnemar_equals_statsmodels_exact(better: int, worse: int) -> None:
    table = [[31, better], [worse, 12]]
    reference = contingency.mcnemar(table, exact=True).pvalue
    assert mcnemar_exact(better, worse) == pytest.approx(reference, abs=1e-9, rel=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_sign_flip_on_a_lattice_equals_scipy_exact(seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 31, 14) / 30  # VQA accuracy moves in steps of 1/30
    cand = np.clip(base + rng.integers(-9, 7, 14) / 30, 0, 1)
    result = sign_flip_test(base, cand)
    assert result.test == "permutation-exact"
    assert result.p_value == pytest.approx(_scipy_exact(cand - base), abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_sign_flip_on_continuous_values_equals_scipy_exact(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    base, cand = rng.random(13), rng.random(13)  # ANLS-like: no lattice, enumerated
    assert lattice(cand - base) is None
    result = sign_flip_test(base, cand)
    assert result.test == "permutation-exact"
    assert result.p_value == pytest.approx(_scipy_exact(cand - base), abs=1e-9)


def _polynomial_reference(ints: list[int]) -> float:
    """Exact P(|sum s_i k_i| >= |sum k_i|) by multiplying (x^-k + x^k) with Python integers."""
    counts = {0: 1}
    for k in ints:
        nxt: dict[int, int] = {}
        for total, ways in counts.items():
            for signed in (k, -k):
                nxt[total + signed] = nxt.get(total + signed, 0) + ways
        counts = nxt
    observed = abs(sum(ints))
    return sum(w for t, w in counts.items() if abs(t) >= observed) / 2 ** len(ints)


@pytest.mark.parametrize("n", [60, 200])
def test_sign_flip_lattice_at_sizes_no_enumeration_reaches(n: int) -> None:
    rng = np.random.default_rng(n)
    base = rng.integers(0, 11, n) * 3 / 30
    cand = np.clip(base + rng.choice([-1 / 3, 0, 0, 1 / 10, 1 / 3], n), 0, 1)
    result = sign_flip_test(base, cand)
    ints = [int(v) for v in np.round((cand - base) * 30) if v != 0]
    assert result.test == "permutation-exact"
    assert result.p_value == pytest.approx(_polynomial_reference(ints), abs=1e-9)


def test_binary_sign_flip_is_the_exact_mcnemar() -> None:
    rng = np.random.default_rng(7)
    base, cand = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    better, worse = int(((cand == 1) & (base == 0)).sum()), int(((cand == 0) & (base == 1)).sum())
    assert sign_flip_test(base, cand).p_value == pytest.approx(
        mcnemar_exact(better, worse), abs=1e-9
    )


def test_monte_carlo_when_nothing_exact_applies() -> None:
    rng = np.random.default_rng(3)
    base = rng.random(400)
    cand = base + rng.normal(0.02, 0.2, 400)
    result = sign_flip_test(base, cand, resamples=20_000, seed=1)
    assert result.test == "permutation-mc" and result.resamples == 20_000
    reference = scipy_stats.permutation_test(
        (cand - base,),
        lambda x, axis: np.mean(x, axis=axis),
        permutation_type="samples",
        n_resamples=20_000,
        vectorized=True,
        random_state=np.random.default_rng(2),
    ).pvalue
    spread = 4 * np.sqrt(reference * (1 - reference) / 20_000) * np.sqrt(2)
    assert abs(result.p_value - reference) < spread + 1e-4
    again = sign_flip_test(base, cand, resamples=20_000, seed=1)
    assert again == result  # seeded: the same draws every time


def test_holm_equals_statsmodels() -> None:
    rng = np.random.default_rng(5)
    for m in (1, 2, 5, 12):
        p = list(rng.random(m) ** 3)
        reference = multitest.multipletests(p, method="holm")[1]
        assert holm(p) == pytest.approx(list(reference), abs=1e-12)


def test_the_bootstrap_is_paired() -> None:
    rng = np.random.default_rng(0)
    base = rng.random(500)
    low, high = paired_bootstrap_ci(base, base + 0.1)
    assert low == pytest.approx(0.1) and high == pytest.approx(0.1)  # unpaired: about +-0.05
    cand = base + rng.normal(-0.05, 0.1, 500)
    low, high = paired_bootstrap_ci(base, cand, resamples=4000, seed=3)
    diff = float((cand - base).mean())
    se = float((cand - base).std(ddof=1) / np.sqrt(500))
    assert low < diff < high
    assert (high - low) == pytest.approx(2 * 1.96 * se, rel=0.1)  # the normal interval's width


def test_exact_enumeration_counts_every_assignment() -> None:
    diffs = np.array([0.3, -0.11, 0.07, 0.52])
    observed = abs(diffs.sum())
    hits = sum(
        abs(np.dot(s, diffs)) >= observed - 1e-12 for s in itertools.product((1, -1), repeat=4)
    )
    assert sign_flip_test(np.zeros(4), diffs).p_value == hits / 16
