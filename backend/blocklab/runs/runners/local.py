"""The local runner (the default): a queue of runs and one slot per concurrent run, each slot
training its runs in worker processes (runners/process.py), one process per run.

Each slot keeps a warm worker waiting (forked from a forkserver that has torch and blocklab
imported, warmed up), so POST /api/runs to the first step message stays well under a
second; after a run its worker exits and a fresh one is forked in its place. A slot's thread
in the server only moves bytes: it hands the worker its Ticket, reads the worker's protocol
lines and passes them to the sink, and enforces what the worker cannot:

- Stop and the wall-time limit: the worker is asked first (a shared flag it checks at every
  report), then killed after GRACE seconds, whatever its step is doing;
- a worker that dies (segfault, OOM kill, SIGKILL) ends its run `failed` with the reason.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait

import torch

from blocklab.runs import checkpoints
from blocklab.runs.plan import Plan
from blocklab.runs.protocol import Follower
from blocklab.runs.runners import Refused, Sink
from blocklab.runs.runners import process

log = logging.getLogger("blocklab.runs")
GRACE = 0.6  # seconds a worker has to stop by itself before it is killed
MIN_CAP = 512 * 2**20  # a worker's address space may grow by at least this much beyond its data


@dataclass
class Active:
    id: str
    plan: Plan
    stop: threading.Event = field(default_factory=threading.Event)
    status: str = "queued"
    shutdown: bool = False
    flag: object = None  # the worker's shared stop flag while it trains
    pid: int | None = None  # the worker's process id, once it has started the run


@dataclass
class Worker:
    proc: mp.process.BaseProcess
    conn: object
    stop: object


class LocalRunner:
    name = "local"

    def __init__(self, settings, sink: Sink):
        self.settings, self.sink = settings, sink
        self.pending: deque[Active] = deque()
        self.active: dict[str, Active] = {}
        self.cv = threading.Condition()
        self.closing = False
        self.slots: list[threading.Thread] = []
        self.ctx = mp.get_context("forkserver")
        self.ctx.set_forkserver_preload(process.PRELOAD)
        n = max(1, settings.max_concurrent_runs)
        self.threads = settings.torch_threads or max(1, (os.cpu_count() or 1) // n)

    def start(self) -> None:
        for i in range(max(1, self.settings.max_concurrent_runs)):
            t = threading.Thread(target=self._slot, name=f"blocklab-slot-{i}", daemon=True)
            t.start()
            self.slots.append(t)

    def reconcile(self, leftover: list[str]) -> None:
        pass  # their workers died with the previous server (PDEATHSIG): nothing to re-attach

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
            if a.flag is not None:
                a.flag.value = 1  # the worker sees it at its next check, without waiting for the slot
            queued_stop = a.status == "queued" and a in self.pending
            if queued_stop:
                self.pending.remove(a)
                a.status = "stopped"
            self.cv.notify_all()
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

    def purge(self, run_id: str) -> None:
        pass  # a local run leaves nothing outside the data dir

    def shutdown(self, timeout: float = 10.0) -> None:
        with self.cv:
            self.closing = True
            for a in self.active.values():
                a.shutdown = True
                a.stop.set()
                if a.flag is not None:
                    a.flag.value = 1
            self.cv.notify_all()
        deadline = time.monotonic() + timeout
        for t in self.slots:
            t.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ one slot
    def _spawn(self) -> Worker | None:
        try:
            ours, theirs = self.ctx.Pipe()
            stop = self.ctx.Value("b", 0, lock=False)
            proc = self.ctx.Process(target=process.main, args=(theirs, stop, self.threads), daemon=True,
                                    name="blocklab-worker")
            proc.start()
            theirs.close()
            return Worker(proc, ours, stop)
        except Exception:
            log.exception("could not start a worker process")
            return None

    def _slot(self) -> None:
        w = None
        while True:
            if w is None:
                w = self._spawn()  # warm before the next run arrives
            with self.cv:
                while not self.pending and not self.closing:
                    self.cv.wait()
                if self.closing:
                    break
                a = self.pending.popleft()
                a.status = "running"
                a.flag = w.stop if w is not None else None
            try:
                if w is None:
                    raise RuntimeError("no worker process could be started")
                self._execute(a, w)
            except Exception as e:  # never leave a run stuck
                log.exception("run %s: its worker slot failed", a.id)
                a.status = "failed"
                self.sink.finished(a.id, "failed", f"the local runner failed: {type(e).__name__}: {e}"[:2000], {})
            _reap(w)
            w = None
        if w is not None:
            try:
                w.conn.send(None)  # an unused warm worker: let it exit
            except OSError:
                pass
            _reap(w)

    def _execute(self, a: Active, w: Worker) -> None:
        s = self.settings
        run_dir = checkpoints.run_dir(s.data_dir, a.id)
        w.conn.send(process.Ticket.of(a.id, a.plan, s.data_dir, run_dir, s.checkpoint_interval, s.max_run_seconds,
                                      self._memory_cap(a.plan)))
        limit = s.max_run_seconds
        deadline = float("inf")  # the wall time counts from the worker's "started" (its own clock too)

        def started():
            nonlocal deadline
            a.pid = w.proc.pid
            deadline = time.monotonic() + limit if limit > 0 else float("inf")

        follow = Follower(a.id, self.sink, on_started=started)
        kill_at, killed, timed_out = None, False, False
        while follow.end is None:
            now = time.monotonic()
            if kill_at is None and (a.stop.is_set() or now > deadline):
                timed_out = not a.stop.is_set()
                w.stop.value = 1
                kill_at = now + GRACE
            if kill_at is not None and now > kill_at:
                w.proc.kill()  # it did not stop by itself: its step never returned
                killed = True
                break
            ready = wait([w.conn, w.proc.sentinel], timeout=0.1 if kill_at is None else max(0.0, kill_at - now))
            if w.conn in ready:
                try:
                    follow.line(w.conn.recv_bytes().decode())
                except (EOFError, OSError):
                    break
            elif w.proc.sentinel in ready:
                _drain(w, follow)
                break
        w.proc.join(2)
        status, error, summary = self._outcome(a, w, follow, killed, timed_out)
        a.status = status
        self.sink.finished(a.id, status, error, summary)

    def _outcome(self, a: Active, w: Worker, follow: Follower, killed: bool, timed_out: bool):
        end = follow.end
        limit = self.settings.max_run_seconds
        if end is not None:
            status, error, summary = end.get("status", "failed"), end.get("error"), end.get("summary") or follow.summary
        elif killed:
            status, error, summary = "stopped", None, follow.summary
        else:
            code = w.proc.exitcode
            why = (f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}")
            hint = " (killed: out of memory, or by hand)" if code == -signal.SIGKILL else ""
            status, summary = "failed", follow.summary
            error = f"the training process died ({why}){hint}; the weights of its last checkpoint are kept"
        if status == "stopped" and timed_out:  # weights so far are kept
            status, error = "failed", f"the run reached the wall-time limit of {limit:g} s"
        if status == "stopped" and a.shutdown:
            status = "interrupted"
        return status, error, summary

    def _memory_cap(self, plan: Plan) -> int | None:
        """Bytes of address space a CPU run may add beyond its data: BLOCKLAB_MAX_WORKER_BYTES,
        or four times the design's training-memory estimate (at least MIN_CAP). CUDA maps its
        own huge address space, so GPU runs are not capped this way."""
        if plan.device != "cpu":
            return None
        if self.settings.max_worker_bytes > 0:
            return self.settings.max_worker_bytes
        need = getattr(plan, "train_bytes", None) or self.settings.max_train_bytes
        return max(MIN_CAP, 4 * need)


def _drain(w: Worker, follow: Follower) -> None:
    """The worker exited: read what it wrote before it went."""
    try:
        while w.conn.poll():
            follow.line(w.conn.recv_bytes().decode())
    except (EOFError, OSError):
        pass


def _reap(w: Worker | None) -> None:
    if w is None:
        return
    w.proc.join(1)
    if w.proc.is_alive():
        w.proc.kill()
        w.proc.join(1)
    w.conn.close()
