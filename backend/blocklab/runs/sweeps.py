"""The sweep driver: Optuna (TPE sampling, median pruning on epoch metrics) asks for a point,
the point becomes an ordinary run submitted to the run manager (queued like any other run),
and the run's epoch summaries and final status, which the manager reports to its observers,
are told back to Optuna.

One thread per live sweep; it alone touches its Optuna study. The manager's observer only
puts (run id, status, summary) on that sweep's queue.

With the Ray runner a sweep runs with Ray Tune instead (runs/sweep_tune.py: one Ray job is
Tune's driver, each trial one run this server follows); the rest of this module (creating,
stopping, listing at shutdown) is the same for both.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from pydantic import ValidationError

from blocklab.graph.analyze import Limits
from blocklab.runs import store, sweep_store, sweep_tune
from blocklab.runs.manager import QueueFull, Refused, RunManager
from blocklab.runs.plan import PlanError
from blocklab.runs.sweep_space import SweepCreate, apply, make_plan, suggest

log = logging.getLogger("blocklab.sweeps")
FINAL = set(store.FINISHED)
MAX_LIVE = 16


class TooMany(Exception):
    pass


class Sweep(threading.Thread):
    def __init__(self, sweep_id: str, req: SweepCreate, body: dict, owner: "SweepManager"):
        super().__init__(name=f"blocklab-sweep-{sweep_id[:8]}", daemon=True)
        self.id, self.req, self.body, self.owner = sweep_id, req, body, owner
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.stop_asked = threading.Event()
        self.shutdown = False
        self.live: dict[str, tuple] = {}  # run id -> (optuna trial, params)
        self.pruned: set[int] = set()  # numbers of the trials asked to stop by the pruner

    # ------------------------------------------------------------------ the thread
    def run(self) -> None:
        status, error = sweep_store.ending(self.id, self._drive, lambda: self.shutdown)
        if not self.shutdown and self.live:  # a failed sweep stops what it started
            for rid in list(self.live):
                self.owner.runs.stop(rid)
        sweep_store.finish(self.owner.engine, self.id, status, error)
        self.owner.forget(self)

    def _drive(self) -> tuple[str, str | None]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        r = self.req
        pruner = (optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1) if r.prune
                  else optuna.pruners.NopPruner())
        sampler = optuna.samplers.TPESampler(seed=r.seed, n_startup_trials=min(10, max(2, r.trials // 3)))
        study = optuna.create_study(direction=r.goal(), sampler=sampler, pruner=pruner)
        launched = 0
        while True:
            while not self.stop_asked.is_set() and launched < r.trials and len(self.live) < (r.parallel or 1):
                error = self._launch(study, launched)
                if error:
                    return "failed", error
                launched += 1
            if not self.live or self.shutdown:  # at shutdown the run manager interrupts the runs
                break
            try:
                self._handle(study, *self.inbox.get(timeout=0.5))
            except queue.Empty:
                continue
        return ("stopped", None) if self.stop_asked.is_set() else ("completed", None)

    def _launch(self, study, number: int) -> str | None:
        trial = study.ask()
        params = suggest(trial, self.req.space)
        try:  # the corners were checked; a point inside can still fail (e.g. memory at a large width)
            _, plan = make_plan(apply(self.body, params), self.owner.limits, self.owner.data_dir,
                                self.owner.runs.runner.cuda_available)
        except (ValidationError, PlanError) as e:
            msg = "; ".join(f"{x.get('field')}: {x['message']}" for x in e.errors[:3]) \
                if isinstance(e, PlanError) else str(e)
            study.tell(trial, state=optuna_state("FAIL"))
            sweep_store.put_trial(self.owner.engine, self.id, number, params=_json(params), state="failed",
                                  error=msg[:2000])
            return None
        plan.name = f"{self.req.name or 'sweep'} #{number}"
        while True:
            try:
                with self.owner.lock:  # the observer waits on this lock: it sees the run id registered
                    rid = self.owner.runs.submit(plan)
                    self.owner.by_run[rid] = self
                    self.live[rid] = (trial, params)
                break
            except QueueFull as e:
                if self.stop_asked.wait(min(5, e.retry_after)):
                    study.tell(trial, state=optuna_state("FAIL"))
                    return None
            except Refused as e:
                return f"{e.message}: {'; '.join(x['message'] for x in e.errors)}"
        if self.body.get("graph_id"):
            store.link_design(self.owner.engine, rid, self.body["graph_id"])
        sweep_store.put_trial(self.owner.engine, self.id, number, run_id=rid, params=_json(params), state="running")
        return None

    def _handle(self, study, run_id: str, status: str, summary: dict) -> None:
        entry = self.live.get(run_id)
        if entry is None:
            return
        trial, params = entry
        value = sweep_store.finite(summary.get(self.req.metric))
        epoch = summary.get("epoch")
        if status == "running":  # an epoch ended
            if value is None or not isinstance(epoch, int) or trial.number in self.pruned:
                return
            trial.report(value, epoch)
            sweep_store.put_trial(self.owner.engine, self.id, trial.number, value=value, epoch=epoch)
            if trial.should_prune():
                self.pruned.add(trial.number)
                self.owner.runs.stop(run_id)
            return
        if status not in FINAL:
            return
        del self.live[run_id]
        with self.owner.lock:
            self.owner.by_run.pop(run_id, None)
        if trial.number in self.pruned:
            state = "pruned"
            study.tell(trial, state=optuna_state("PRUNED"))
        elif status == "completed" and value is not None:
            state = "completed"
            study.tell(trial, value)
        else:
            state = "failed" if status == "completed" else status
            study.tell(trial, state=optuna_state("FAIL"))
        sweep_store.put_trial(self.owner.engine, self.id, trial.number, state=state,
                              value=value, epoch=epoch if isinstance(epoch, int) else None)

    def stop(self, shutdown: bool = False) -> None:
        """Stop launching and stop every live trial's run (they report `stopped` back)."""
        self.shutdown = self.shutdown or shutdown
        self.stop_asked.set()
        if not shutdown:
            for rid in list(self.live):
                self.owner.runs.stop(rid)


class SweepManager:
    def __init__(self, runs: RunManager, engine: sa.Engine, limits: Limits, data_dir: Path):
        self.runs, self.engine, self.limits, self.data_dir = runs, engine, limits, data_dir
        self.lock = threading.RLock()
        self.active: dict[str, Sweep] = {}
        self.by_run: dict[str, Sweep] = {}
        runs.observers.append(self._observe)

    def start(self) -> None:
        left = sweep_store.mark_interrupted(self.engine)
        if left:
            log.warning("%d sweep(s) were left running by the previous server: now interrupted", len(left))
            if self.tune:  # their Tune drivers may still be training with nobody listening
                self.runs.runner.reconcile([sweep_tune.job_id(s) for s in left])

    @property
    def tune(self) -> bool:
        """Whether sweeps run with Ray Tune (the runner is a Ray cluster) rather than local Optuna."""
        return self.runs.runner.name == "ray"

    def create(self, req: SweepCreate, body: dict) -> str:
        """The new sweep's id; TooMany while MAX_LIVE sweeps run (one thread each), Refused
        when the Ray cluster cannot take it."""
        with self.lock:
            if len(self.active) >= MAX_LIVE:
                raise TooMany(f"{MAX_LIVE} sweeps are running; stop one or retry when one ends")
        sid = uuid.uuid4().hex
        arg = sweep_tune.entry_arg(sid, req, body, self) if self.tune else None
        sweep_store.insert(self.engine, {
            "id": sid, "name": req.name or f"sweep of {body.get('name') or body['graph'].get('name', 'a design')}"[:200],
            "status": sweep_store.LIVE, "request": req.model_dump_json(), "direction": req.goal(),
            "created_at": store.now(),
        })
        s = sweep_tune.TuneSweep(sid, req, body, self, arg) if self.tune else Sweep(sid, req, body, self)
        with self.lock:
            self.active[sid] = s
        s.start()
        return sid

    def stop(self, sweep_id: str) -> bool:
        s = self.active.get(sweep_id)
        if s is None:
            return False
        s.stop()
        return True

    def forget(self, s: Sweep) -> None:
        with self.lock:
            self.active.pop(s.id, None)

    def shutdown(self, timeout: float = 10.0) -> None:
        for s in list(self.active.values()):
            s.stop(shutdown=True)
        deadline = time.monotonic() + timeout
        for s in list(self.active.values()):
            s.join(max(0.0, deadline - time.monotonic()))

    def _observe(self, run_id: str, status: str, summary: dict) -> None:
        with self.lock:
            s = self.by_run.get(run_id)
        if s is not None:
            s.inbox.put((run_id, status, dict(summary)))


def optuna_state(name: str):
    from optuna.trial import TrialState

    return TrialState[name]


def _json(v) -> str:
    import json

    return json.dumps(v)
