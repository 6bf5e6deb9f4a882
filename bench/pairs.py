"""Side-by-side measurement for the benchmarks: two sides run round after round, alternating
which goes first (a b, b a, a b, ...), and compared round by round.

On a shared machine the load drifts over seconds and whole runs in fresh worker processes
vary by a few percent each; the two runs of one round are adjacent in time, so the ratio
within a round cancels the drift, and the median over rounds drops the odd disturbed one.
The spread printed with a ratio is the interquartile range of the per-round ratios.

    r = rounds(lambda: time_a(), lambda: time_b(), 21)  # each returns a number or a tuple
    r.ratio()          # median over rounds of b / a (element 0 of a tuple)
    r.spread()         # (first quartile, third quartile) of b / a
    r.median("a", 1)   # the median of a's element 1 over the rounds
"""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable

BEST = False  # --best: ratios of the fastest rounds (min) instead of medians over rounds


def _tuple(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


class Rounds:
    def __init__(self, a: list[tuple], b: list[tuple]):
        self.a, self.b = a, b

    def median(self, side: str, k: int = 0) -> float:
        vals = [r[k] for r in (self.a if side == "a" else self.b)]
        return min(vals) if BEST else statistics.median(vals)

    def per_round(self, k: int = 0) -> list[float]:
        return [rb[k] / ra[k] for ra, rb in zip(self.a, self.b)]

    def ratio(self, k: int = 0) -> float:
        """b / a: the median of the per-round ratios (with --best: of the fastest rounds)."""
        return self.median("b", k) / self.median("a", k) if BEST else statistics.median(self.per_round(k))

    def spread(self, k: int = 0) -> tuple[float, float]:
        r = self.per_round(k)
        if len(r) < 2:
            return r[0], r[0]
        q = statistics.quantiles(r, n=4)
        return q[0], q[2]

    def pct(self, k: int = 0) -> str:
        """b vs a in percent, with its spread: '+0.4% (IQR -0.3..+1.1%, 21 rounds)'."""
        lo, hi = self.spread(k)
        return f"{100 * (self.ratio(k) - 1):+.1f}% (IQR {100 * (lo - 1):+.1f}..{100 * (hi - 1):+.1f}%, {len(self.a)} rounds)"

    def times(self, k: int = 0) -> str:
        """a / b as 'N.NNx (IQR ..)': how many times faster b is."""
        lo, hi = self.spread(k)
        return f"{1 / self.ratio(k):.3f}x (IQR {1 / hi:.3f}-{1 / lo:.3f}, {len(self.a)} rounds)"


def rounds(a: Callable, b: Callable, reps: int, warm: int = 1) -> Rounds:
    """`warm` warm-up rounds, then `reps` rounds of a and b in alternating order. The garbage
    collector runs before each call, so neither side pays for the other's garbage."""
    for _ in range(warm):
        a(), b()
    ra, rb = [], []
    for i in range(reps):
        gc.collect()
        if i % 2 == 0:
            x = _tuple(a())
            gc.collect()
            y = _tuple(b())
        else:
            y = _tuple(b())
            gc.collect()
            x = _tuple(a())
        ra.append(x)
        rb.append(y)
    return Rounds(ra, rb)
