"""The local runner (the default): a queue of runs and a fixed pool of worker threads in the
server process, each executing runs with runs.worker.execute.

Training never runs on the event loop: each run is iterated in a worker thread (torch
releases the GIL in its kernels). Workers live as long as the server, so a run starts
without importing anything: POST /api/runs to the first step message is milliseconds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import torch

from blocklab.runs import checkpoints, worker
from blocklab.runs.plan import Plan
from blocklab.runs.runners import Refused, Sink

log = logging.getLogger("blocklab.runs")


@dataclass
class Active:
    id: str
    plan: Plan
    stop: threading.Event = field(default_factory=threading.Event)
    status: str = "queued"
    shutdown: bool = False


class LocalRunner:
    name = "local"

    def __init__(self, settings, sink: Sink):
        self.settings, self.sink = settings, sink
        self.pending: deque[Active] = deque()
        self.active: dict[str, Active] = {}
        self.cv = threading.Condition()
        self.closing = False
        self.workers: list[threading.Thread] = []

    def start(self) -> None:
        n = max(1, self.settings.max_concurrent_runs)
        threads = self.settings.torch_threads or max(1, (os.cpu_count() or 1) // n)
        torch.set_num_threads(threads)
        for i in range(n):
            t = threading.Thread(target=self._work, name=f"blocklab-run-{i}", daemon=True)
            t.start()
            self.workers.append(t)
        threading.Thread(target=_warm_up, name="blocklab-warmup", daemon=True).start()

    def reconcile(self, leftover: list[str]) -> None:
        pass  # their threads died with the previous process: nothing to re-attach

    def cuda_available(self) -> bool:
        return torch.cuda.is_available()

    def check(self, plan: Plan) -> None:
        if plan.cfg.num_workers > 1:
            raise Refused("the local runner cannot run this", [{"node": None, "field": "num_workers", "message":
                          f"num_workers {plan.cfg.num_workers} (data-parallel training) needs a Ray cluster: set "
                          "BLOCKLAB_RUNNER to a Ray head (http://<head>:8265), or use num_workers 1"}])

    def submit(self, run_id: str, plan: Plan) -> None:
        with self.cv:
            if run_id in self.active:
                return
            a = Active(run_id, plan)
            self.active[run_id] = a
            self.pending.append(a)
            self.cv.notify()

    def cancel(self, run_id: str) -> bool:
        with self.cv:
            a = self.active.get(run_id)
            if a is None:
                return False
            a.stop.set()
            queued_stop = a.status == "queued" and a in self.pending
            if queued_stop:
                self.pending.remove(a)
                a.status = "stopped"
        if queued_stop:
            self.sink.finished(run_id, "stopped", None, {})
        return True

    def status(self, run_id: str) -> str | None:
        a = self.active.get(run_id)
        return a.status if a else None

    def queued(self) -> int:
        with self.cv:
            return len(self.pending)

    def forget(self, run_id: str) -> None:
        with self.cv:
            self.active.pop(run_id, None)

    def shutdown(self, timeout: float = 10.0) -> None:
        with self.cv:
            self.closing = True
            for a in self.active.values():
                a.shutdown = True
                a.stop.set()
            self.cv.notify_all()
        deadline = time.monotonic() + timeout
        for t in self.workers:
            t.join(max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        while True:
            with self.cv:
                while not self.pending and not self.closing:
                    self.cv.wait()
                if self.closing:
                    return
                a = self.pending.popleft()
                a.status = "running"
            try:
                self._execute(a)
            except Exception:  # execute reports its own failures; this guards the worker
                log.exception("run %s crashed its worker", a.id)

    def _execute(self, a: Active) -> None:
        rid, sink = a.id, self.sink
        sink.started(rid)
        limit = self.settings.max_run_seconds
        deadline = time.monotonic() + limit if limit > 0 else float("inf")
        timed_out = lambda: time.monotonic() > deadline  # noqa: E731
        out = worker.execute(a.plan, lambda: a.stop.is_set() or timed_out(), lambda kind, ev: sink.event(rid, kind, ev),
                             checkpoints.run_dir(self.settings.data_dir, rid),
                             checkpoint_interval=self.settings.checkpoint_interval,
                             progress=lambda s: sink.progress(rid, s))
        if out.status == "stopped" and not a.stop.is_set() and timed_out():  # weights so far are kept
            out.status, out.error = "failed", f"the run reached the wall-time limit of {limit:g} s"
        status = "interrupted" if out.status == "stopped" and a.shutdown else out.status
        a.status = status
        sink.finished(rid, status, out.error, out.summary)


def _warm_up() -> None:
    """Pay one-time costs in the background at startup, not in the first run: Adam's first
    construction imports torch._dynamo (~2 s), the datasets import scikit-learn (~2 s)."""
    try:
        import sklearn.datasets  # noqa: F401

        m = torch.nn.Linear(2, 1)
        for cls in (torch.optim.Adam, torch.optim.AdamW):
            opt = cls(m.parameters(), fused=True)
            m(torch.zeros(1, 2)).sum().backward()
            opt.step()
    except Exception:
        log.debug("warm-up failed", exc_info=True)
