"""One trial of a Ray Tune sweep (runs/ray_tune.py): a Tune class Trainable that trains one
Blocklab run with the code every run uses (ray_job.train_and_report -> runs.worker.execute).

Its run id is a function of the sweep id and Tune's trial id (`run_id_of`), so the server and
the cluster agree on it without a round trip. The trial first announces itself ("trial": its
run id and point of the space) and then sends its run's protocol lines, numbered from 1 by a
Printer of its own, through the driver's Relay actor (ray_train.Relay: calls from one actor
arrive in order); the driver prints each as `@run <run id> <line>` and the server feeds it to
that run's protocol.Follower.

Each Tune iteration is one epoch: `step` lets the run train its next epoch, waits for its
summary and hands Tune the sweep's metric as `value` (so ASHA can prune on it); the last one
comes with `done`. Tune stops a trial (ASHA pruned it, or the sweep is stopping) through
`cleanup`, or `reset_config` when it reuses the actor for the next trial: both ask the run to
stop and wait until its weights and `end` are on their way.
"""

from __future__ import annotations

import math
import queue
import threading
import uuid

import ray
from ray import tune

VALUE = "value"  # the key Tune's searcher and scheduler read


def run_id_of(sweep_id: str, trial_id: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"blocklab-sweep/{sweep_id}/{trial_id}").hex


def score(summary: dict, metric: str) -> float:
    """The metric from an epoch summary; NaN when missing or not finite (Tune needs a number)."""
    v = summary.get(metric)
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    return float(v) if ok else float("nan")


def trial_plan(job: dict, params: dict):
    """The trial's Plan: the sweep's run body at this point of the space (ValidationError, PlanError)."""
    import base64
    from pathlib import Path

    import torch
    from safetensors.torch import load as st_load

    from blocklab.graph.analyze import Limits
    from blocklab.runs.sweep_space import apply, make_plan

    body = apply(job["body"], params)
    _, plan = make_plan(body, Limits(**job["limits"]), Path(job["data_dir"]), torch.cuda.is_available)
    if job.get("init"):  # the sweep's initial weights, shipped inline (the upload lives on the server)
        plan.init = st_load(base64.b64decode(job["init"]))
    return plan


class Trial(tune.Trainable):
    def setup(self, config: dict, job: dict | None = None, relay=None) -> None:
        self.job, self.relay, self.thread = job, relay, None
        self._begin(config)

    def reset_config(self, new_config: dict) -> bool:
        """The next trial on this actor (Tune reuses actors: no new process, no second import of torch)."""
        self._end()
        self._begin(new_config)
        return True

    def _begin(self, config: dict) -> None:
        import torch
        from pydantic import ValidationError

        from blocklab.runs.plan import PlanError
        from blocklab.runs.protocol import Printer

        job, relay = self.job, self.relay
        self.rid = run_id_of(job["sweep_id"], self.trial_id)
        self.metric = job["metric"]
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.stop_asked = threading.Event()
        self.resume = threading.Event()  # Tune asked for the next epoch (see `step`)
        self.summary: dict = {}
        params = dict(config)
        if ray.get(relay.stopping.remote()):  # the sweep is stopping: Tune may still start one
            raise RuntimeError("the sweep was stopped")
        try:
            plan = trial_plan(job, params)
        except (ValidationError, PlanError) as e:
            msg = "; ".join(x["message"] for x in e.errors[:3]) if isinstance(e, PlanError) else str(e)
            relay.put.remote("trial", {"run_id": self.rid, "params": params, "error": msg[:2000]})
            raise RuntimeError(msg) from None
        relay.put.remote("trial", {"run_id": self.rid, "params": params})
        self.epochs = plan.cfg.epochs
        torch.set_num_threads(1)  # the one CPU Tune reserved for this trial
        rid = self.rid
        self.emit = Printer(lambda line: relay.put.remote("line", {"run_id": rid, "text": line}))
        self.thread = threading.Thread(target=self._train, args=(plan,), daemon=True, name="blocklab-trial")
        self.thread.start()
        threading.Thread(target=self._watch, args=(rid, self.stop_asked, self.resume), daemon=True,
                         name="blocklab-trial-stop").start()

    def _watch(self, rid: str, stop_asked: threading.Event, resume: threading.Event) -> None:
        """Stop the run when the server asked to (the sweep's stop, or POST /api/runs/{id}/stop)."""
        while not stop_asked.wait(1.0):
            try:
                if ray.get(self.relay.run_stopped.remote(rid), timeout=10):
                    stop_asked.set()
                    resume.set()
            except Exception:
                pass

    def _train(self, plan) -> None:
        from pathlib import Path

        from blocklab.runs import checkpoints, ray_job

        shared = checkpoints.run_dir(Path(self.job["data_dir"]), self.rid) if self.job["shared"] else None
        payload = {"checkpoint_interval": self.job["checkpoint_interval"], "shared_dir": shared and str(shared)}

        def emit(kind: str, event: dict) -> None:
            self.emit(kind, event)
            if kind == "progress":  # an epoch ended: wait for Tune's verdict before the next one
                self.resume.clear()
                self.inbox.put(("progress", event["summary"]))
                self.resume.wait()

        status = "failed"
        try:
            status = ray_job.train_and_report(payload, plan, emit, self.stop_asked.is_set)
        except Exception as e:  # never leave the run without an end
            self.emit("end", {"status": "failed", "error": f"{type(e).__name__}: {e}"[:2000], "summary": self.summary})
        self.inbox.put(("end", status))

    def step(self) -> dict:
        """One epoch. The run pauses after each epoch until Tune asks for the next one, so a
        trial Tune stops (ASHA) trains no further; `_end` then stops it for good."""
        while True:
            self.resume.set()
            kind, v = self.inbox.get()
            if kind == "end":  # a run that did not complete tells the searcher nothing (NaN)
                return {VALUE: score(self.summary, self.metric) if v == "completed" else float("nan"), "done": True}
            self.summary = v
            if v.get("epoch", 0) < self.epochs:  # the last epoch is reported with the end, as `done`
                return {VALUE: score(v, self.metric)}

    def cleanup(self) -> None:
        self._end()

    def _end(self) -> None:
        """Stop this trial's run (if it still trains) and wait until its last lines are on the relay."""
        if self.thread is None:
            return
        self.stop_asked.set()
        self.resume.set()
        self.thread.join()
        self.thread = None
        ray.get(self.relay.put.remote("flush", {}))
