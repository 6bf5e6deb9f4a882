"""A stop reaches inside a step: CustomLayer while loops ask the thread's check every few
rounds and raise Cancelled (issue 12, item 3). Exported code keeps plain loops."""

from __future__ import annotations

import math
import threading

import pytest
import torch

from graphs import chain, load_exported
from blocklab.custom import cancel
from blocklab.graph.build import build, source_for
from blocklab.graph.document import GraphDoc

ROUNDS = 1000
FOREVER = "while x.abs().sum() > 0:\n    x = x * 0.5 + 1.0\nx"  # never false: runs all max_iter rounds


def looping(max_iter: int = ROUNDS) -> GraphDoc:
    return GraphDoc.model_validate(chain([4], ("spin", "CustomLayer", {"expr": FOREVER, "max_iter": max_iter})))


class Counter:
    def __init__(self, stop_after: int | None = None):
        self.calls, self.stop_after = 0, stop_after

    def __call__(self) -> bool:
        self.calls += 1
        return self.stop_after is not None and self.calls > self.stop_after


def test_a_loop_asks_every_few_rounds_and_gives_the_plain_result():
    model, x = build(looping()), torch.randn(3, 4)
    check = Counter()
    with cancel.checking(check):
        out = model(x)
    assert check.calls == math.ceil(ROUNDS / cancel.EVERY)
    exported = load_exported(source_for(looping()))()
    exported.load_state_dict(model.state_dict())
    torch.testing.assert_close(out, exported(x))  # the exported model: same numbers, plain range
    assert "for _ in range(1000):" in source_for(looping())


def test_a_check_that_says_stop_raises_cancelled_mid_loop():
    model = build(looping())
    check = Counter(stop_after=3)
    with cancel.checking(check), pytest.raises(cancel.Cancelled, match=r"round 25 of a CustomLayer loop"):
        model(torch.randn(3, 4))
    assert check.calls == 4  # rounds 1, 9, 17, 25: stopped long before round 1,000
    assert cancel.get_check() is None  # checking() restores the thread's previous check


def test_stop_from_another_thread_interrupts_a_long_forward():
    model = build(looping(ROUNDS))
    stop, started, outcome = threading.Event(), threading.Event(), {}

    def check() -> bool:
        started.set()
        outcome["checks"] = outcome.get("checks", 0) + 1
        return stop.is_set()

    def train_step():
        cancel.set_check(check)
        try:
            while True:  # forwards until stopped: a step that never ends on its own
                model(torch.randn(2, 4))
        except cancel.Cancelled:
            outcome["cancelled"] = True
        finally:
            cancel.set_check(None)

    t = threading.Thread(target=train_step)
    t.start()
    assert started.wait(10)
    stop.set()
    t.join(10)
    assert not t.is_alive() and outcome.get("cancelled")


def test_the_check_belongs_to_the_thread_that_set_it():
    model = build(looping(64))
    cancel.set_check(lambda: True)
    try:
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("out", model(torch.randn(2, 4))))
        t.start()
        t.join(10)
        assert result["out"].shape == (2, 4)  # the other thread has no check: it runs to the end
        with pytest.raises(cancel.Cancelled):
            model(torch.randn(2, 4))
    finally:
        cancel.set_check(None)
