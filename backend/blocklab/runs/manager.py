"""The run manager: a queue of runs, a fixed pool of worker threads that execute them, and
the glue from the training loop's events to the stream hub and the batch writer.

Training never runs on the event loop: each run is iterated in a worker thread (torch
releases the GIL in its kernels). Workers live as long as the server, so a run starts
without importing anything: POST /api/runs to the first step message is milliseconds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

import sqlalchemy as sa
import torch

from blocklab.graph.document import dump
from blocklab.runs import checkpoints, store, worker
from blocklab.runs.hub import Hub
from blocklab.runs.plan import Plan
from blocklab.runs.writer import Writer
from blocklab.settings import Settings
from blocklab.train.config import dump as dump_cfg
from blocklab.runs.worker import BUILD_LOCK  # noqa: F401  (re-exported)

log = logging.getLogger("blocklab.runs")


class QueueFull(Exception):
    def __init__(self, retry_after: int):
        super().__init__("too many queued runs")
        self.retry_after = retry_after


@dataclass
class Active:
    id: str
    plan: Plan
    stop: threading.Event = field(default_factory=threading.Event)
    status: str = "queued"
    shutdown: bool = False


class RunManager:
    def __init__(self, settings: Settings, engine: sa.Engine):
        self.settings, self.engine = settings, engine
        self.hub = Hub(settings.stream_queue, settings.stream_hopeless_after)
        self.writer = Writer(engine, settings.flush_interval, committed=self.hub.committed)
        self.pending: deque[Active] = deque()
        self.active: dict[str, Active] = {}
        self.cv = threading.Condition()
        self.closing = False
        self.workers: list[threading.Thread] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        interrupted = store.mark_interrupted(self.engine)
        if interrupted:
            log.warning("%d run(s) were left active by the previous server: now interrupted", len(interrupted))
        n = max(1, self.settings.max_concurrent_runs)
        threads = self.settings.torch_threads or max(1, (os.cpu_count() or 1) // n)
        torch.set_num_threads(threads)
        self.writer.start()
        for i in range(n):
            t = threading.Thread(target=self._work, name=f"blocklab-run-{i}", daemon=True)
            t.start()
            self.workers.append(t)
        threading.Thread(target=_warm_up, name="blocklab-warmup", daemon=True).start()

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
        self.writer.close()

    # ------------------------------------------------------------------ requests
    def submit(self, plan: Plan) -> str:
        with self.cv:
            queued = len(self.pending)
        if queued >= self.settings.max_queued_runs:
            raise QueueFull(retry_after=max(1, min(60, queued // max(1, self.settings.max_concurrent_runs))))
        rid = uuid.uuid4().hex
        self.hub.open(rid)  # before the row exists: a viewer never finds a row without a channel
        config = dump_cfg(plan.cfg) | ({"init_weights": "uploaded"} if plan.init is not None else {})
        store.insert(self.engine, {
            "id": rid, "name": plan.name, "status": "queued", "config": _json(config),
            "graph": _json(dump(plan.doc)), "created_at": store.now(), "device": plan.device,
        })
        a = Active(rid, plan)
        self._status(a, "queued")
        with self.cv:
            self.active[rid] = a
            self.pending.append(a)
            self.cv.notify()
        return rid

    def stop(self, run_id: str) -> bool:
        """True when the run was live here (it stops at its next report, within ~0.1 s)."""
        with self.cv:
            a = self.active.get(run_id)
            if a is None:
                return False
            a.stop.set()
            if a.status == "queued" and a in self.pending:
                self.pending.remove(a)
                queued_stop = True
            else:
                queued_stop = False
        if queued_stop:
            self._finish(a, "stopped", None, {})
        return True

    def status_of(self, run_id: str) -> str | None:
        a = self.active.get(run_id)
        return a.status if a else None

    # ------------------------------------------------------------------ workers
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
            except Exception:  # _execute reports its own failures; this guards the worker
                log.exception("run %s crashed its worker", a.id)

    def _status(self, a: Active, status: str, error: str | None = None, final: bool = False, **row) -> None:
        a.status = status
        payload = {"status": status} | ({"error": error} if error else {})
        seq, text = self.hub.publish(a.id, "status", payload, final=final)
        self.writer.event(a.id, seq, "status", text)
        self.writer.update(a.id, status=status, error=error, **row)

    def _finish(self, a: Active, status: str, error: str | None, summary: dict) -> None:
        self._status(a, status, error, final=True, finished_at=store.now(), summary=_json(summary))
        rid = a.id

        def forget():
            self.hub.release(rid)
            with self.cv:
                self.active.pop(rid, None)

        self.writer.after(forget)

    def _execute(self, a: Active) -> None:
        rid = a.id
        self._status(a, "running", started_at=store.now())

        def emit(kind: str, ev: dict) -> None:
            seq, text = self.hub.publish(rid, kind, ev)
            self.writer.event(rid, seq, kind, text)

        out = worker.execute(a.plan, a.stop.is_set, emit, checkpoints.run_dir(self.settings.data_dir, rid),
                             checkpoint_interval=self.settings.checkpoint_interval,
                             progress=lambda s: self.writer.update(rid, summary=_json(s)))  # batched: survives a crash
        status = "interrupted" if out.status == "stopped" and a.shutdown else out.status
        self._finish(a, status, out.error, out.summary)


def _json(v) -> str:
    import json

    return json.dumps(v)


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
