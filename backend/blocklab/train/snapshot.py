"""Statistics snapshots taken off the training thread.

A snapshot (train/stats.py: per-parameter statistics and histograms, and the activation
probe's forward pass) costs ~1-3 ms of small reductions on an MLP, which is 2-4% of a short
CPU run at 6 snapshots/s when the training thread pays for it. Here the training thread only
copies: before the optimizer step, the weights into `prev` (one buffer, allocated once, which
the statistics then use as their workspace) and a reference
to each gradient; after it, weights and buffers into a shadow copy of the model. A thread of
its own then computes both messages from those copies (torch ops release the GIL, so it runs
on another core), and the loop yields them when they are done:

    snaps = Snapshots(model, x[:64])
    snaps.before()           # after backward           (training thread: one foreach copy)
    opt.step()
    snaps.after(step)        # after the optimizer step  (training thread: one foreach copy)
    yield from snaps.ready() # finished snapshots, in order: a "stats" then an "activations"
    yield from snaps.drain() # at epoch ends and the end: wait for the one in flight

At most one snapshot is in flight: `before()` waits for the previous one, since it overwrites
the copies that one reads. Gradients are not copied: the loop zeroes them with
set_to_none=True, so the next backward writes new tensors and the kept ones stay as they were.
The statistics thread asks the run's stop check too (custom/cancel.py: the probe's forward may
run a long CustomLayer loop), so a stopped run never waits for its last snapshot.

A small model's snapshot (<= INLINE_MAX, ~0.15 ms for D2L's 2-1 regression) is cheaper done
on the training thread than handed off: the messages are the same, only earlier; no thread
is started until a snapshot takes longer.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Iterator

import torch
from torch import nn

from blocklab.custom import cancel
from blocklab.train.stats import ActivationProbe, Scratch, param_rows

# A snapshot that takes at most this long (s) is computed on the training thread itself, as
# the step's copies and the hand-off would cost about as much, and a thread that shares the
# GIL with a Python-bound loop of small ops (D2L's linear regression: ~1 ms of a 19 ms run on a
# busy machine) slows it more than the work itself. The first expensive one hands the rest to
# the thread.
INLINE_MAX = 0.3e-3


def _yield_to_training() -> None:
    """The statistics thread runs at a lower priority (Linux: per thread) than training."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (OSError, AttributeError):
        pass


class Snapshots:
    def __init__(self, model: nn.Module, sample: torch.Tensor, inline_max: float = INLINE_MAX):
        self.live_params = [p for _, p in model.named_parameters()]
        self.live_buffers = [b for _, b in model.named_buffers()]
        with torch.no_grad():
            self.shadow = copy.deepcopy(model)  # weights after the step; the probe runs on it
        self.shadow.requires_grad_(False)
        self.named = list(self.shadow.named_parameters())  # same order as live_params: names as in the state_dict
        self.buffers = [b for _, b in self.shadow.named_buffers()]
        self.prev = Scratch([p for _, p in self.named])  # weights before the step (views), then the stats' workspace
        self.probe = ActivationProbe(self.shadow, sample)
        self._pool: ThreadPoolExecutor | None = None  # started by the first snapshot the thread takes
        self.inline_max, self.inline, self.taken = inline_max, inline_max > 0, 0
        self.check = cancel.get_check()  # the training thread's: Stop reaches the probe's loops too
        self.grads: list[torch.Tensor | None] = []
        self.pending: Future | None = None
        self.done: list[dict] = []

    @torch.no_grad()
    def before(self) -> None:
        self.done += self._wait()
        if self.live_params:
            torch._foreach_copy_(self.prev.views, [p.detach() for p in self.live_params])
        self.grads = [p.grad for p in self.live_params]

    @torch.no_grad()
    def after(self, step: int) -> None:
        if self.live_params:
            torch._foreach_copy_([p for _, p in self.named], [p.detach() for p in self.live_params])
        if self.buffers:  # BatchNorm's running statistics, constants: what the probe's forward reads
            torch._foreach_copy_(self.buffers, self.live_buffers)
        grads, self.grads = self.grads, []
        if self.inline:
            t = time.perf_counter()
            self.done += self._compute(step, grads)
            # the first snapshot pays the statistics ops' first calls in this process: 4x the budget
            self.inline = time.perf_counter() - t <= self.inline_max * (4 if self.taken == 0 else 1)
        else:
            self.pending = self.pool.submit(self._compute, step, grads)
        self.taken += 1

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blocklab-stats",
                                            initializer=_yield_to_training)
        return self._pool

    def ready(self) -> Iterator[dict]:
        """Finished snapshots' messages, oldest first; never waits."""
        if self.pending is not None and self.pending.done():
            self.done += self._wait()
        out, self.done = self.done, []
        yield from out

    def drain(self) -> Iterator[dict]:
        self.done += self._wait()
        yield from self.ready()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _wait(self) -> list[dict]:
        fut, self.pending = self.pending, None
        return fut.result() if fut is not None else []  # an error in the snapshot fails the run here

    @torch.no_grad()
    def _compute(self, step: int, grads: list[torch.Tensor | None]) -> list[dict]:
        try:
            with cancel.checking(self.check):
                return [{"type": "stats", "step": step, "layers": param_rows(self.named, grads, self.prev, True)},
                        {"type": "activations", "step": step, "nodes": self.probe.run()}]
        except cancel.Cancelled:
            return []  # the run is stopping: this snapshot is dropped
