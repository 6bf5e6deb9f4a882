"""bench/pairs.py, the benchmarks' side-by-side measurement: rounds alternate which side goes
first, and a ratio is taken within each round, so a drifting machine load cancels out."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import pairs  # noqa: E402


def test_rounds_alternate_which_side_goes_first_after_a_warm_up():
    calls = []
    pairs.rounds(lambda: calls.append("a") or 1.0, lambda: calls.append("b") or 2.0, 4)
    assert calls == ["a", "b"] + ["a", "b", "b", "a", "a", "b", "b", "a"]


def test_a_drifting_load_cancels_within_rounds():
    # Each call costs its side's work times a load that grows call after call (a machine
    # getting busier); side b does 1.5x side a's work, tuples carry (wall, cpu).
    load = iter(1 + 0.05 * k for k in range(100))

    def side(work):
        return lambda: (work * next(load), work)

    r = pairs.rounds(side(1.0), side(1.5), 11)
    assert r.median("b", 1) / r.median("a", 1) == 1.5  # cpu: no load
    assert r.ratio(0) == pytest.approx(1.5, rel=0.03)  # within a round the load barely moves
    lo, hi = r.spread(0)
    assert lo <= r.ratio(0) <= hi and hi - lo < 0.1
    assert r.times(1).startswith("0.667x") and r.pct(1).startswith("+50.0%")


def test_best_compares_the_fastest_rounds(monkeypatch):
    a = iter([5.0, 1.0, 3.0, 9.0])
    b = iter([6.0, 2.0, 4.0, 2.5])
    r = pairs.rounds(lambda: next(a), lambda: next(b), 3)
    assert r.ratio() == pytest.approx(4 / 3)  # rounds (1, 2), (3, 4), (9, 2.5): median of 2, 4/3, 0.28
    monkeypatch.setattr(pairs, "BEST", True)
    assert r.ratio() == 2.0  # min 2 / min 1
