"""The run manager: the run rows, the stream hub and the batch writer, in front of a runner
(runs.runners: local worker threads by default, or a Ray cluster) that executes the runs.

A runner reports through the manager's Sink methods (started, event, progress, finished);
the manager numbers each message in the hub, streams it, and stores it with the writer, so
the REST API and the stream behave the same whatever runner trained the run.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from typing import Callable

import sqlalchemy as sa

from blocklab.graph.document import dump
from blocklab.runs import checkpoints, runners, store
from blocklab.runs.hub import Hub
from blocklab.runs.plan import Plan
from blocklab.runs.tensorboard import TBWriter
from blocklab.runs.runners import Refused  # noqa: F401  (re-exported for the API)
from blocklab.runs.writer import Writer
from blocklab.settings import Settings
from blocklab.train.config import dump as dump_cfg

log = logging.getLogger("blocklab.runs")


class QueueFull(Exception):
    def __init__(self, retry_after: int):
        super().__init__("too many queued runs")
        self.retry_after = retry_after


class Busy(Exception):
    """The run is queued or running: its data is live, so it cannot be deleted yet."""

    def __init__(self, run_id: str, status: str):
        super().__init__(f"run '{run_id}' is {status}: stop it first (POST /api/runs/{run_id}/stop)")


class RunManager:
    def __init__(self, settings: Settings, engine: sa.Engine):
        self.settings, self.engine = settings, engine
        self.hub = Hub(settings.stream_queue, settings.stream_hopeless_after)
        self.writer = Writer(engine, settings.flush_interval, committed=self.hub.committed)
        self.runner = runners.make(settings, self)
        # Called with (run id, "running", summary) after each epoch and (run id, final status,
        # summary) at the end, on the runner's thread; they must be quick (sweeps queue them).
        self.observers: list[Callable[[str, str, dict], None]] = []
        # TensorBoard: each live run's writer (written here, from the messages its worker sends),
        # and what a queued run's writer starts with (the design and its generated source).
        self.tb: dict[str, TBWriter] = {}
        self.tb_sources: dict[str, tuple] = {}
        self.cancels: dict[str, Callable[[], bool]] = {}  # adopted runs: how to stop each

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        interrupted = store.mark_interrupted(self.engine)
        if interrupted:
            log.warning("%d run(s) were left active by the previous server: now interrupted", len(interrupted))
        self.writer.start()
        self.runner.start()
        self.runner.reconcile(list(interrupted))

    def shutdown(self, timeout: float = 10.0) -> None:
        self.runner.shutdown(timeout)
        self.writer.close()

    # ------------------------------------------------------------------ requests
    def submit(self, plan: Plan) -> str:
        """The new run's id. Raises QueueFull (retry later) or runners.Refused (never runnable here)."""
        queued = self.runner.queued()
        if queued >= self.settings.max_queued_runs:
            raise QueueFull(retry_after=max(1, min(60, queued // max(1, self.settings.max_concurrent_runs))))
        self.runner.check(plan)
        rid = uuid.uuid4().hex
        self.adopt(rid, plan)
        self.runner.submit(rid, plan)
        return rid

    def adopt(self, rid: str, plan: Plan, cancel: Callable[[], bool] | None = None) -> None:
        """Open run `rid` (row, channel, `queued`) without giving it to the runner: something else
        trains it (a trial of a Ray Tune sweep, runs.sweep_tune) and reports through the sink
        methods below, as a runner does; `stop` then calls `cancel`."""
        if cancel is not None:
            self.cancels[rid] = cancel
        self.hub.open(rid)  # before the row exists: a viewer never finds a row without a channel
        config = dump_cfg(plan.cfg) | ({"init_weights": "uploaded"} if plan.init is not None else {})
        store.insert(self.engine, {
            "id": rid, "name": plan.name, "status": "queued", "config": _json(config),
            "graph": _json(dump(plan.doc)), "created_at": store.now(), "device": plan.device,
        })
        self._status(rid, "queued")
        self.tb_sources[rid] = (plan.doc, plan.source)

    def stop(self, run_id: str) -> bool:
        """True when the run was live here (a local run stops within ~1 s: at its next check, or
        its worker process is killed)."""
        cancel = self.cancels.get(run_id)
        return cancel() if cancel is not None else self.runner.cancel(run_id)

    def delete(self, run_id: str) -> bool:
        """Remove a finished run: its row, stream messages and checkpoint folder. False when there
        is no such run; Busy while it is queued or running (stop it and wait for its final status)."""
        run = store.get(self.engine, run_id, full=False)
        if run is None:
            return False
        # The runner is asked too: a run it still trains must never lose its files mid-write.
        live = self.runner.status(run_id)
        if run["status"] not in store.FINISHED or live in ("queued", "running"):
            raise Busy(run_id, live if live in ("queued", "running") else run["status"])
        if not store.delete_finished(self.engine, run_id):
            return False  # another request deleted it meanwhile
        # Its final status is stored, so what the hub and runner still hold is only waiting for
        # the writer's `forget`; drop it now so the stream answers "unknown run" at once.
        self.hub.release(run_id)
        self.runner.forget(run_id)
        self.runner.purge(run_id)
        try:
            shutil.rmtree(checkpoints.run_dir(self.settings.data_dir, run_id))
        except FileNotFoundError:
            pass  # it ended before writing any checkpoint
        except OSError:  # the run is gone from the API either way; say what was left behind
            log.exception("run %s deleted, but its checkpoint folder could not be removed", run_id)
        return True

    def status_of(self, run_id: str) -> str | None:
        return self.runner.status(run_id)

    # ------------------------------------------------------------------ the runner's sink
    def started(self, run_id: str) -> None:
        self._status(run_id, "running", started_at=store.now())
        doc, source = self.tb_sources.pop(run_id, (None, None))
        self.tb[run_id] = TBWriter.open(checkpoints.run_dir(self.settings.data_dir, run_id), doc, source)

    def event(self, run_id: str, kind: str, ev: dict) -> None:
        seq, text = self.hub.publish(run_id, kind, ev)
        self.writer.event(run_id, seq, kind, text)

    def event_text(self, run_id: str, kind: str, rest: str) -> None:
        """A message a worker encoded already (protocol.Follower): numbered, streamed and stored
        as the worker's bytes, and decoded only where TensorBoard wants it."""
        seq, text = self.hub.publish_text(run_id, kind, rest)
        self.writer.event(run_id, seq, kind, text)
        tb = self.tb.get(run_id)
        if tb is not None and tb.wants(kind):
            tb.write(kind, json.loads("{" + rest))

    def progress(self, run_id: str, summary: dict) -> None:
        self.writer.update(run_id, summary=_json(summary))  # batched: survives a crash
        self._notify(run_id, "running", summary)

    def finished(self, run_id: str, status: str, error: str | None, summary: dict) -> None:
        self._status(run_id, status, error, final=True, finished_at=store.now(), summary=_json(summary))
        self.tb_sources.pop(run_id, None)
        self.cancels.pop(run_id, None)
        tb = self.tb.pop(run_id, None)
        if tb is not None:
            tb.close()

        def forget():
            self.hub.release(run_id)
            self.runner.forget(run_id)

        self.writer.after(forget)
        # After the commit: an observer (a sweep) that reads the run back sees its final row.
        self.writer.after(lambda: self._notify(run_id, status, summary))

    def _notify(self, run_id: str, status: str, summary: dict) -> None:
        for fn in self.observers:
            try:
                fn(run_id, status, summary)
            except Exception:  # an observer's bug never breaks a run's reporting
                log.exception("run observer failed")

    def _status(self, run_id: str, status: str, error: str | None = None, final: bool = False, **row) -> None:
        payload = {"status": status} | ({"error": error} if error else {})
        seq, text = self.hub.publish(run_id, "status", payload, final=final)
        self.writer.event(run_id, seq, "status", text)
        tb = self.tb.get(run_id)
        if tb is not None:
            tb.write("status", payload)
        self.writer.update(run_id, status=status, error=error, **row)


def _json(v) -> str:
    return json.dumps(v)
