"""A sweep on a Ray cluster: one Ray job runs Ray Tune (runs/ray_tune.py), this server follows it.

The job (submission id `sweep-<sweep id>`) is Tune's driver; each Tune trial trains one
Blocklab run on the cluster. This thread tails the job's log like the Ray runner tails a
run's (runners/ray_logs.follow_job) and routes what it prints:
- "trial" (a trial's run id and point of the space): the run is opened here with
  `RunManager.adopt` (its row, stream and TensorBoard files, as any run) and its trial row
  is written;
- `@run <run id> <line>`: that run's own protocol line, fed to its protocol.Follower, so its
  stream, metrics, checkpoints and end are stored exactly as a Ray job's run;
- "end": the sweep's status.
A trial whose run Tune stopped while the sweep was not stopping was pruned (ASHA). Stopping
the sweep tells the job through a small job (`ray_tune --stop-sweep`): its trials stop and still
send their weights; a run still live when the job ends is ended here.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import re
import threading
import time
from pathlib import Path

from pydantic import ValidationError

from blocklab.runs import checkpoints, store, sweep_store
from blocklab.runs.plan import PlanError
from blocklab.runs.protocol import Follower, parse_line
from blocklab.runs.ray_job import encode_payload
from blocklab.runs.runners import Refused
from blocklab.runs.runners.ray import MAX_INLINE_PAYLOAD
from blocklab.runs.runners.ray_cluster import _job_message, _short, _tensors
from blocklab.runs.runners.ray_logs import Lost, follow_job
from blocklab.runs.sweep_space import SweepCreate, apply, make_plan
from blocklab.runs.sweep_store import finite

log = logging.getLogger("blocklab.sweeps")
STOP_GRACE_S = 30.0  # a stopped sweep's job may take this long to end on its own (then: stop_job)
RUN_LINE = re.compile(r"@run ([0-9a-f]{32}) (.*)$")


def job_id(sweep_id: str) -> str:
    return f"sweep-{sweep_id}"


def entry_arg(sweep_id: str, req: SweepCreate, body: dict, owner) -> str:
    """The driver job's argument: the sweep as a payload (or @file in a shared data dir).
    Refused when it is too large to send inline and the data dir is not shared."""
    settings, runner = owner.runs.settings, owner.runs.runner
    _, base = make_plan(body, owner.limits, owner.data_dir, runner.cuda_available)
    init = None
    if base.init is not None:  # an upload lives here: ship the tensors with the sweep
        from safetensors.torch import save as st_save

        init = base64.b64encode(st_save({k: v.contiguous() for k, v in base.init.items()})).decode()
    data_dir = Path(settings.data_dir).resolve()
    payload = encode_payload({
        "v": 1, "sweep_id": sweep_id, "init": init,
        # the device as resolved here against the cluster ("auto" -> cuda only if it has GPUs), so
        # every trial trains on what Tune reserved for it; the weights travel inline
        "body": {k: v for k, v in body.items() if k != "init_weights"} | {"device": base.device},
        "space": {k: d.model_dump(exclude_none=True) for k, d in req.space.items()}, "trials": req.trials,
        "metric": req.metric, "direction": req.goal(), "prune": req.prune, "seed": req.seed, "parallel": req.parallel,
        "epochs": most_epochs(req, base.cfg.epochs), "cuda": base.device == "cuda", "limits": dataclasses.asdict(owner.limits),
        "data_dir": str(data_dir), "checkpoint_interval": settings.checkpoint_interval,
        "shared": settings.ray_shared_data_dir,
    })
    if len(payload) <= MAX_INLINE_PAYLOAD:
        return payload
    if not settings.ray_shared_data_dir:
        raise Refused("the Ray cluster cannot run this sweep", [{"node": None, "field": "run", "message":
                      "the sweep (its design and initial weights) is too large to send to the Ray cluster inline; "
                      "use a shared data dir (BLOCKLAB_RAY_SHARED_DATA_DIR=1)"}])
    f = data_dir / "sweeps" / f"{sweep_id}.payload"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(payload)
    return f"@{f}"


def most_epochs(req: SweepCreate, epochs: int) -> int:
    """The longest trial's epochs (ASHA's max_t), when the space varies them."""
    dim = req.space.get("epochs")
    corners = dim.corners() if dim is not None else []
    return max([epochs] + [int(v) for v in corners if isinstance(v, (int, float)) and not isinstance(v, bool)])


@dataclasses.dataclass
class TrialRun:
    number: int
    follow: Follower
    done: bool = False
    epoch: int | None = None  # the last epoch written to its trial row


class TuneSweep(threading.Thread):
    def __init__(self, sweep_id: str, req: SweepCreate, body: dict, owner, arg: str):
        super().__init__(name=f"blocklab-tune-{sweep_id[:8]}", daemon=True)
        self.id, self.req, self.body, self.owner, self.arg = sweep_id, req, body, owner, arg
        self.stop_asked = threading.Event()
        self.shutdown = False
        self.trials: dict[str, TrialRun] = {}  # run id -> its trial
        self.halted: set[str] = set()  # trials' runs stopped one by one (POST /api/runs/{id}/stop)
        self.count = 0  # trials announced (their numbers, in the order the driver printed them)
        self.last = 0  # the driver's own seq (a replayed tail repeats lines)
        self.end: dict | None = None

    # ------------------------------------------------------------------ the thread
    def run(self) -> None:
        status, error = sweep_store.ending(self.id, self._drive, lambda: self.shutdown)
        run_status = "interrupted" if self.shutdown else "stopped" if self.stop_asked.is_set() else "failed"
        for rid, t in self.trials.items():  # runs the job left without an end
            if not t.done:
                self._finish(rid, t, {"status": run_status, "error": None if run_status != "failed" else error
                                      or "the sweep's Ray job ended before this trial did"})
        sweep_store.finish(self.owner.engine, self.id, status, error)
        self.owner.forget(self)

    def _drive(self) -> tuple[str, str | None]:
        runner = self.owner.runs.runner
        client = runner.client()
        settings = self.owner.runs.settings
        try:
            client.submit_job(entrypoint=f"{settings.ray_python} -m blocklab.runs.ray_tune {self.arg}",
                              submission_id=job_id(self.id), entrypoint_num_cpus=0,
                              metadata={"blocklab_sweep": self.id})
        except Exception as e:
            return "failed", f"could not submit the sweep to the Ray cluster at {runner.url}: {_short(e)}"
        if self.stop_asked.is_set():  # stopped while submitting
            self._stop_job()
        try:
            status = follow_job(client, job_id(self.id), self._line, settings.ray_lost_after)
        except Lost as e:
            return "failed", f"lost contact with the Ray cluster at {runner.url}: {e}"
        if self.stop_asked.is_set():
            return "stopped", None
        if self.end is not None:
            return self.end.get("status", "failed"), self.end.get("error")
        return "failed", f"the sweep's Ray job ended ({status}) without a result{_job_message(client, job_id(self.id))}"

    def _line(self, line: str) -> None:
        m = RUN_LINE.search(line)
        if m is not None:
            t = self.trials.get(m.group(1))
            if t is not None and not t.done:
                t.follow.line(m.group(2))
                self._after(m.group(1), t)
            return
        msg = parse_line(line)
        if msg is None or msg["seq"] <= self.last:
            return
        self.last = msg["seq"]
        if msg["type"] == "trial":
            self._trial(msg)
        elif msg["type"] == "end":
            self.end = msg

    # ------------------------------------------------------------------ trials
    def _trial(self, msg: dict) -> None:
        rid, params = msg["run_id"], msg.get("params") or {}
        if rid in self.trials or not re.fullmatch(r"[0-9a-f]{32}", str(rid)):
            return
        number, self.count = self.count, self.count + 1
        engine, text = self.owner.engine, json.dumps(params)
        error = msg.get("error")
        plan = None
        if error is None:
            try:
                _, plan = make_plan(apply(self.body, params), self.owner.limits, self.owner.data_dir,
                                    self.owner.runs.runner.cuda_available)
            except (ValidationError, PlanError, KeyError) as e:
                error = "; ".join(x["message"] for x in e.errors[:3]) if isinstance(e, PlanError) else str(e)
        if plan is None:
            self.trials[rid] = TrialRun(number, Follower(rid, self.owner.runs), done=True)
            sweep_store.put_trial(engine, self.id, number, params=text, state="failed", error=str(error)[:2000])
            return
        plan.name = f"{self.req.name or 'sweep'} #{number}"
        self.owner.runs.adopt(rid, plan, cancel=lambda: self._stop_run(rid))
        if self.body.get("graph_id"):
            store.link_design(engine, rid, self.body["graph_id"])
        data_dir = self.owner.runs.settings.data_dir

        def checkpoint(which: str, data: bytes) -> None:
            checkpoints.write(checkpoints.path(data_dir, rid, which), _tensors(data))

        self.trials[rid] = TrialRun(number, Follower(rid, self.owner.runs, checkpoint))
        sweep_store.put_trial(engine, self.id, number, run_id=rid, params=text, state="running")

    def _after(self, rid: str, t: TrialRun) -> None:
        """After one of the trial's lines: its epoch value so far, or its end."""
        if t.follow.end is not None:
            self._finish(rid, t, t.follow.end)
            return
        epoch = t.follow.summary.get("epoch")
        value = finite(t.follow.summary.get(self.req.metric))
        if isinstance(epoch, int) and value is not None and epoch != t.epoch:  # a new epoch summary
            t.epoch = epoch
            sweep_store.put_trial(self.owner.engine, self.id, t.number, value=value, epoch=epoch)

    def _finish(self, rid: str, t: TrialRun, end: dict) -> None:
        t.done = True
        status, summary = end.get("status") or "failed", end.get("summary") or t.follow.summary
        if status not in store.FINISHED:
            status = "failed"
        if status == "stopped" and self.shutdown:
            status = "interrupted"
        self.owner.runs.finished(rid, status, end.get("error"), summary)
        value, epoch = finite(summary.get(self.req.metric)), summary.get("epoch")
        if status == "completed":
            state = "completed" if value is not None else "failed"
        elif status == "stopped" and not self.stop_asked.is_set() and rid not in self.halted:
            state = "pruned"  # Tune (ASHA) stopped it, not the user
        else:
            state = status
        sweep_store.put_trial(self.owner.engine, self.id, t.number, state=state, value=value,
                              epoch=epoch if isinstance(epoch, int) else None)

    # ------------------------------------------------------------------ control
    def stop(self, shutdown: bool = False) -> None:
        """Stop the sweep: a small job tells the Tune driver, whose trials stop and still send
        their weights (stop_job after STOP_GRACE_S if it has not ended). At shutdown the job is
        stopped at once and its live runs end `interrupted`."""
        self.shutdown = self.shutdown or shutdown
        self.stop_asked.set()
        target = self._stop_job if shutdown else self._stop_gently
        threading.Thread(target=target, daemon=True).start()

    def _stop_gently(self) -> None:
        told = self._tell(f"--stop-sweep {self.id}", f"stop-{self.id}")
        self.join(STOP_GRACE_S if told else 0)  # told: the driver ends on its own
        if self.is_alive():
            self._stop_job()

    def _stop_run(self, rid: str) -> bool:
        """Stop one trial's run (the sweep goes on): a small job tells the Tune driver."""
        t = self.trials.get(rid)
        if t is None or t.done:
            return False
        self.halted.add(rid)
        threading.Thread(target=self._tell, args=(f"--stop-run {self.id} {rid}", f"stop-{rid}"), daemon=True).start()
        return True

    def _tell(self, args: str, submission_id: str) -> bool:
        """Run `python -m blocklab.runs.ray_tune <args>`, a small job that tells this sweep's
        driver (through its named relay); whether it did."""
        from blocklab.runs.runners.ray_cluster import TERMINAL, _status_name

        settings = self.owner.runs.settings
        try:
            client = self.owner.runs.runner.client()
            client.submit_job(entrypoint=f"{settings.ray_python} -m blocklab.runs.ray_tune {args}",
                              submission_id=submission_id, entrypoint_num_cpus=0, metadata={"blocklab_sweep": self.id})
            deadline = time.monotonic() + STOP_GRACE_S
            while (status := _status_name(client.get_job_status(submission_id))) not in TERMINAL:
                if time.monotonic() > deadline or not self.is_alive():
                    return False
                time.sleep(0.25)
            return status == "SUCCEEDED"
        except Exception as e:  # asked before (the id exists), the driver has no relay yet, the cluster is gone
            log.warning("telling sweep %s's Ray job (%s) failed: %s", self.id, args, _short(e))
            return False

    def _stop_job(self) -> None:
        try:
            self.owner.runs.runner.client().stop_job(job_id(self.id))
        except Exception as e:  # not submitted yet, or the cluster is gone (the tail notices)
            log.warning("stopping the Ray job of sweep %s failed: %s", self.id, e)
