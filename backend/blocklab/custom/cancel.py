"""Stopping a run inside a step: a cooperative check in every CustomLayer while loop.

A CustomLayer loop runs up to 10,000 rounds per forward, far longer than a step should
take to stop. The generated code counts its rounds with `for _ in range(n)`; exported
source keeps the builtin, and the builder (graph/build.py) binds `range` to `rounds`
below, which asks the current thread's check every `EVERY` rounds and raises `Cancelled`
when it says stop:

    from blocklab.custom import cancel
    cancel.set_check(stop_event.is_set)      # this thread's forwards now stop when it is set
    try:
        loss = model(x).sum()
    except cancel.Cancelled:
        ...                                  # the run was stopped (or ran out of time)
    finally:
        cancel.set_check(None)

`with cancel.checking(fn): ...` does the same for a block of code.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

EVERY = 8  # rounds between checks: a round is one pass over the loop body (microseconds to ms)

_local = threading.local()


class Cancelled(Exception):
    """The current thread's check asked a CustomLayer loop to stop."""


def set_check(fn: Callable[[], bool] | None) -> None:
    """Set (or clear, with None) the check that loops on the calling thread ask."""
    _local.check = fn


def get_check() -> Callable[[], bool] | None:
    return getattr(_local, "check", None)


@contextmanager
def checking(fn: Callable[[], bool]) -> Iterator[None]:
    previous = get_check()
    set_check(fn)
    try:
        yield
    finally:
        set_check(previous)


def rounds(*args: int) -> Iterator[int]:
    """range(*args), asking the thread's check before the first round and every EVERY rounds."""
    check = get_check()
    if check is None:
        yield from range(*args)
        return
    for k, i in enumerate(range(*args)):
        if k % EVERY == 0 and check():
            raise Cancelled(f"stopped in round {k + 1} of a CustomLayer loop")
        yield i
