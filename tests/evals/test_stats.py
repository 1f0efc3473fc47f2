"""Eval statistics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from evals import stats


@pytest.mark.parametrize(
    ("n", "c", "k", "at", "hat"),
    [
        (5, 5, 5, 1.0, 1.0),
        (5, 0, 1, 0.0, 0.0),
        (5, 3, 1, 0.6, 0.6),
        (5, 3, 2, 1 - 1 / 10, 3 / 10),  # C(2,2)/C(5,2) = 1/10 fail both; C(3,2)/C(5,2) = 3/10
        (4, 2, 4, 1.0, 0.0),
    ],
)
def test_pass_at_k_and_pass_hat_k(n: int, c: int, k: int, at: float, hat: float) -> None:
    assert stats.pass_at_k(n, c, k) == pytest.approx(at)
    assert stats.pass_hat_k(n, c, k) == pytest.approx(hat)


def test_k_must_not_exceed_n() -> None:
    with pytest.raises(ValueError, match="k=3"):
        stats.pass_hat_k(2, 1, 3)


def test_classification() -> None:
    assert [stats.classify(3, c) for c in (3, 1, 0)] == ["stable_pass", "flaky", "stable_fail"]


def test_wilson_interval_matches_the_closed_form() -> None:
    low, high = stats.wilson(8, 10)
    z, p, n = 1.959964, 0.8, 10
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (low, high) == pytest.approx((centre - half, centre + half))
    assert stats.wilson(10, 10)[1] == pytest.approx(1.0) and stats.wilson(0, 10)[0] == 0.0
    assert stats.wilson(0, 0) == (0.0, 1.0)


def test_percentile_and_mcnemar() -> None:
    assert stats.percentile([1, 2, 3, 4], 50) == 2.5
    assert stats.percentile([], 95) == 0.0
    assert stats.mcnemar_p(0, 0) == 1.0
    assert stats.mcnemar_p(0, 6) == pytest.approx(2 / 64)
