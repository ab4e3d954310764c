"""Paired comparison of two runs of the same cases, and what a sample of a given size can see.

Two runs of one set on the same cases differ only where a case flipped: *lost* (passed in the
baseline, fails now) or *gained*. A change that makes no difference flips as many cases each way
(or none, when the reader is deterministic); a worse reader loses more than it gains. The exact
one-sided sign test asks how likely at least ``lost`` losses out of ``lost + gained`` flips
would be if each flip were a coin toss: below ``alpha`` the loss is called significant.

The minimal detectable effect (MDE) of a gate is the smallest true drop in its pass rate that
this test catches with the given power on ``n`` paired cases, when besides the drop each case
also flips at random with probability ``noise`` (half each way; 0 for a deterministic reader).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np

ALPHA = 0.05
POWER = 0.80


@dataclass(frozen=True, slots=True)
class Comparison:
    """One run against the baseline, case by case (only the cases both ran)."""

    paired: int
    lost: list[str]
    gained: list[str]

    @property
    def p_value(self) -> float:
        return sign_test(len(self.lost), len(self.gained))


def compare(before: dict[str, bool], now: dict[str, bool]) -> Comparison:
    """``before`` / ``now``: pass or fail by case id."""
    common = [case_id for case_id in now if case_id in before]
    return Comparison(
        paired=len(common),
        lost=[c for c in common if before[c] and not now[c]],
        gained=[c for c in common if not before[c] and now[c]],
    )


def sign_test(lost: int, gained: int) -> float:
    """One-sided exact p-value of ``lost`` or more losses among ``lost + gained`` fair flips."""
    flips = lost + gained
    if lost == 0:
        return 1.0
    return sum(math.comb(flips, k) for k in range(lost, flips + 1)) / 2.0**flips


@cache
def _rejecting(flips: int, alpha: float) -> int:
    """The fewest losses among ``flips`` flips that the sign test calls significant."""
    low, high = 0, flips + 1  # sign_test falls as the losses rise: bisect
    while low < high:
        middle = (low + high) // 2
        if sign_test(middle, flips - middle) < alpha:
            high = middle
        else:
            low = middle + 1
    return low


@lru_cache(maxsize=8)
def _log_factorials(n: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))))


def _binomial(n: int, p: float) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The binomial distribution's probabilities of 0..n successes."""
    k = np.arange(n + 1, dtype=np.float64)
    if p <= 0.0 or p >= 1.0:
        certain: np.ndarray[Any, np.dtype[np.float64]] = (k == (0 if p <= 0.0 else n)).astype(
            np.float64
        )
        return certain
    log_factorial = _log_factorials(n)
    log_choose = log_factorial[n] - log_factorial - log_factorial[::-1]
    pmf: np.ndarray[Any, np.dtype[np.float64]] = np.exp(
        log_choose + k * math.log(p) + (n - k) * math.log1p(-p)
    )
    return pmf


def power(n: int, drop: float, noise: float = 0.0, alpha: float = ALPHA) -> float:
    """Probability that the sign test flags a true drop of ``drop`` on ``n`` paired cases."""
    loss = min(1.0, noise / 2 + drop)
    flip = min(1.0, noise + drop)
    if n == 0 or flip == 0.0:
        return 0.0
    share_lost = loss / flip
    total = 0.0
    for flips, p_flips in enumerate(_binomial(n, flip)):
        needed = _rejecting(flips, alpha)
        if p_flips < 1e-12 or needed > flips:
            continue
        total += float(p_flips) * float(_binomial(flips, share_lost)[needed:].sum())
    return total


@lru_cache(maxsize=256)
def minimal_detectable_effect(
    n: int, noise: float = 0.0, alpha: float = ALPHA, wanted: float = POWER
) -> float | None:
    """The smallest drop (to 0.005) caught with probability ``wanted``; None if even a drop to
    nothing is not (too few cases)."""
    if n == 0 or power(n, 1.0 - noise, noise, alpha) < wanted:
        return None
    low, high = 0.0, 1.0 - noise
    while high - low > 0.005:
        middle = (low + high) / 2
        if power(n, middle, noise, alpha) >= wanted:
            high = middle
        else:
            low = middle
    return round(high, 3)


def cases_needed(
    drop: float, noise: float = 0.0, alpha: float = ALPHA, wanted: float = POWER
) -> int:
    """The fewest paired cases at which a drop of ``drop`` is caught with probability
    ``wanted`` (found by doubling, then bisection)."""
    if drop <= 0:
        raise ValueError(f"a drop must be positive: {drop}")
    high = 8
    while power(high, drop, noise, alpha) < wanted:
        high *= 2
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        if power(middle, drop, noise, alpha) >= wanted:
            high = middle
        else:
            low = middle
    return high
