"""The paired comparison's statistics: the exact sign test and what a sample can detect."""

from __future__ import annotations

import pytest

from newsrag.eval.paired import (
    cases_needed,
    compare,
    minimal_detectable_effect,
    power,
    sign_test,
)


def test_sign_test_is_the_binomial_tail() -> None:
    assert sign_test(5, 0) == pytest.approx(1 / 32)
    assert sign_test(4, 0) == pytest.approx(1 / 16)
    assert sign_test(3, 1) == pytest.approx(5 / 16)
    assert sign_test(0, 7) == 1.0
    assert sign_test(5, 5) > 0.5  # as many gained as lost: no evidence of a loss


def test_compare_pairs_only_cases_both_runs_asked() -> None:
    before = {"a": True, "b": True, "c": False, "d": True}
    now = {"a": False, "b": True, "c": True, "e": False}
    result = compare(before, now)
    assert result.paired == 3
    assert result.lost == ["a"] and result.gained == ["c"]
    assert result.p_value == pytest.approx(0.75)


def test_power_grows_with_the_drop_and_the_sample() -> None:
    assert power(40, 0.05) < power(40, 0.20) < power(200, 0.20)
    assert power(100, 0.0, noise=0.0) == 0.0  # nothing flips: nothing is ever flagged
    # noise alone is flagged at most about as often as the test's level
    assert power(200, 0.0, noise=0.1) <= 0.05


def test_minimal_detectable_effect_matches_power() -> None:
    mde = minimal_detectable_effect(83, noise=0.05)
    assert mde is not None
    assert power(83, mde, 0.05) >= 0.8 > power(83, mde - 0.01, 0.05)
    # more cases see smaller drops; noisier readers need larger ones
    larger, noisier = minimal_detectable_effect(200, 0.05), minimal_detectable_effect(83, 0.15)
    assert larger is not None and noisier is not None
    assert larger < mde < noisier
    assert minimal_detectable_effect(3) is None  # 3 losses can never reach p < 0.05


def test_cases_needed_for_five_points() -> None:
    deterministic = cases_needed(0.05, noise=0.0)
    assert 100 < deterministic < 200  # about 7 expected losses, 5 needed
    assert cases_needed(0.05, noise=0.05) > deterministic
    assert power(deterministic, 0.05) >= 0.8 > power(deterministic - 1, 0.05)


def test_cases_needed_wants_a_drop() -> None:
    with pytest.raises(ValueError, match="positive"):
        cases_needed(0.0)
