"""The Ray runner: each run is one Ray job (Jobs API, submission id = run id) on a Ray cluster.

This process never joins the cluster as a driver: it only talks HTTP to the head's dashboard
(submit, status, logs, stop), so it works under several uvicorn workers. The job runs
`python -m blocklab.runs.ray_job <payload>` (the same runs.worker code local runs use) and
prints sequence-numbered event lines; a follower thread per run tails the job's log,
drops lines it has already seen (by seq; a reconnected tail replays from the start) and
reports the rest to the manager, which streams and stores them exactly like a local run's.

Checkpoints come back inline (base64 safetensors in the job's last lines), which works on
any cluster; with BLOCKLAB_RAY_SHARED_DATA_DIR=1 (the data dir is the same path on every
node, e.g. one machine or NFS) the job writes them into the data dir itself.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from blocklab.data import BUILTIN
from blocklab.graph.document import dump
from blocklab.runs import checkpoints
from blocklab.runs.plan import Plan
from blocklab.runs.protocol import Follower
from blocklab.runs.ray_job import encode_payload
from blocklab.runs.runners.ray_cluster import (TERMINAL, ClusterDown, _job_message, _short, _status_name, _tensors,
                                               dashboard_url)  # noqa: F401  (re-exported)
from blocklab.runs.runners import Refused, Sink
from blocklab.runs.runners.ray_logs import Lost, follow_job
from blocklab.train.config import dump as dump_cfg

log = logging.getLogger("blocklab.runs")
MAX_INLINE_PAYLOAD = 100_000  # one command-line argument (Linux allows 128 KiB)


@dataclass
class RayRun:
    id: str
    plan: Plan
    status: str = "queued"
    stop: threading.Event = field(default_factory=threading.Event)
    shutdown: bool = False
    done: bool = False


class RayRunner:
    name = "ray"

    def __init__(self, settings, sink: Sink, url: str):
        self.settings, self.sink, self.url = settings, sink, url
        self.runs: dict[str, RayRun] = {}
        self.lock = threading.Lock()
        self._client = None

    # ------------------------------------------------------------------ the cluster
    def client(self):
        from ray.job_submission import JobSubmissionClient  # the `ray` extra: pip install 'blocklab[ray]'

        with self.lock:
            if self._client is None:
                self._client = JobSubmissionClient(self.url)
            return self._client

    def nodes(self) -> list[dict]:
        """The cluster's alive nodes with their total resources (the dashboard's state API)."""
        with urllib.request.urlopen(f"{self.url}/api/v0/nodes?detail=1&limit=10000", timeout=5) as r:
            data = json.loads(r.read())
        return [n for n in data["data"]["result"]["result"] if n.get("state") == "ALIVE"]

    def cuda_available(self) -> bool:
        """A node of the cluster has a GPU (False while the cluster cannot be reached)."""
        try:
            return any(n.get("resources_total", {}).get("GPU", 0) >= 1 for n in self.nodes())
        except Exception:
            return False

    def needs(self, plan: Plan) -> dict[str, float]:
        """What the job's entry point reserves: the whole run, or (num_workers > 1) nothing, as it
        only relays while Ray Train's workers (`worker_needs`) train."""
        if plan.cfg.num_workers > 1:
            return {"CPU": 0.0}
        return {"CPU": 1.0} | ({"GPU": 1.0} if plan.device == "cuda" else {})

    def worker_needs(self, plan: Plan) -> dict[str, float]:
        """One Ray Train worker's resources (ScalingConfig's default): 1 GPU on CUDA, else 1 CPU."""
        return {"GPU": 1.0} if plan.device == "cuda" else {"CPU": 1.0}

    # ------------------------------------------------------------------ Runner
    def start(self) -> None:
        pass  # nothing to connect to until a run comes: a down cluster never blocks the server

    def reconcile(self, leftover: list[str]) -> None:
        """The previous server's live runs are `interrupted` in the database; their jobs may
        still be training with nobody listening: stop them (in the background)."""
        if leftover:
            threading.Thread(target=self._stop_orphans, args=(leftover,), daemon=True,
                             name="blocklab-ray-reconcile").start()

    def _stop_orphans(self, ids: list[str]) -> None:
        try:
            client = self.client()
            for rid in ids:
                try:
                    if _status_name(client.get_job_status(rid)) not in TERMINAL:
                        client.stop_job(rid)
                except Exception:
                    pass  # no such job (it was never submitted)
        except Exception as e:
            log.warning("could not reach the Ray cluster at %s to stop leftover jobs: %s", self.url, e)

    def check(self, plan: Plan) -> None:
        errors = []
        if plan.kind.name not in BUILTIN and not self.settings.ray_shared_data_dir:
            errors.append({"node": None, "field": "dataset.name", "message":
                           f"dataset '{plan.kind.name}' is an upload, which lives in this server's data dir; Ray jobs "
                           "can read it only with a shared data dir (BLOCKLAB_RAY_SHARED_DATA_DIR=1)"})
        if len(self._payload("x" * 32, plan)) > MAX_INLINE_PAYLOAD and not self.settings.ray_shared_data_dir:
            errors.append({"node": None, "field": "init_weights", "message":
                           "the run (with its initial weights) is too large to send to the Ray cluster inline; "
                           "use a shared data dir (BLOCKLAB_RAY_SHARED_DATA_DIR=1)"})
        want = self.needs(plan)
        try:
            nodes = self.nodes()
        except Exception:
            nodes = None  # unreachable now: the run will fail with a clear message, not be refused
        if nodes is not None and plan.cfg.num_workers > 1:
            each, count = self.worker_needs(plan), plan.cfg.num_workers
            fit = sum(int(min(n.get("resources_total", {}).get(k, 0) // v for k, v in each.items())) for n in nodes)
            if fit < count:
                have = ", ".join(f"{k} {v:g}" for k, v in each.items())
                errors.append({"node": None, "field": "num_workers", "message":
                               f"num_workers {count} needs {count} workers of {have} each; the Ray cluster at "
                               f"{self.url} has room for {fit}"})
        elif nodes is not None and not any(all(n.get("resources_total", {}).get(k, 0) >= v for k, v in want.items())
                                           for n in nodes):
            have = ", ".join(f"{k} {v:g}" for k, v in want.items())
            errors.append({"node": None, "field": "device", "message":
                           f"no node of the Ray cluster at {self.url} has the resources this run needs ({have})"})
        if errors:
            raise Refused("the Ray cluster cannot run this", errors)

    def submit(self, run_id: str, plan: Plan) -> None:
        with self.lock:
            if run_id in self.runs:
                return
            r = self.runs[run_id] = RayRun(run_id, plan)
        threading.Thread(target=self._follow, args=(r,), daemon=True, name=f"blocklab-ray-{run_id[:8]}").start()

    def cancel(self, run_id: str) -> bool:
        r = self.runs.get(run_id)
        if r is None or r.done:
            return False
        r.stop.set()
        threading.Thread(target=self._stop_job, args=(run_id,), daemon=True).start()
        return True

    def _stop_job(self, run_id: str) -> None:
        try:
            self.client().stop_job(run_id)
        except Exception as e:  # the follower notices a dead cluster and fails the run
            log.warning("stopping Ray job %s failed: %s", run_id, e)

    def status(self, run_id: str) -> str | None:
        r = self.runs.get(run_id)
        return r.status if r else None

    def queued(self) -> int:
        return sum(1 for r in list(self.runs.values()) if r.status == "queued")

    def forget(self, run_id: str) -> None:
        with self.lock:
            self.runs.pop(run_id, None)

    def purge(self, run_id: str) -> None:
        """Delete the finished job's record on the cluster: its entrypoint holds the run's design."""
        try:
            self.client().delete_job(run_id)
        except Exception:  # noqa: BLE001  (cluster down, job already gone): log, the run is deleted here
            log.warning("run %s deleted, but its Ray job record could not be removed", run_id, exc_info=True)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Live jobs are stopped (their weights so far still arrive while we wait) and end `interrupted`."""
        live = [r for r in list(self.runs.values()) if not r.done]
        for r in live:
            r.shutdown = True
            r.stop.set()
            self._stop_job(r.id)
        deadline = time.monotonic() + timeout
        for r in live:
            while not r.done and time.monotonic() < deadline:
                time.sleep(0.05)

    # ------------------------------------------------------------------ one run
    def _payload(self, run_id: str, plan: Plan) -> str:
        init = None
        if plan.init is not None:
            from safetensors.torch import save as st_save

            init = base64.b64encode(st_save({k: v.contiguous() for k, v in plan.init.items()})).decode()
        data_dir = Path(self.settings.data_dir).resolve()
        return encode_payload({
            "v": 1, "run_id": run_id, "graph": dump(plan.doc), "config": dump_cfg(plan.cfg), "name": plan.name,
            "device": plan.device, "init": init, "num_cpus": 1, "data_dir": str(data_dir),
            "checkpoint_interval": self.settings.checkpoint_interval,
            "shared_dir": str(checkpoints.run_dir(data_dir, run_id)) if self.settings.ray_shared_data_dir else None,
        })

    def _follow(self, r: RayRun) -> None:
        state = {"summary": {}, "end": None}
        try:
            self._submit_job(r)
            self._tail(r, state)
        except Exception as e:  # never leave a run stuck: whatever went wrong ends it
            log.exception("Ray run %s", r.id)
            if state["end"] is None:
                state["end"] = {"status": "failed", "error": f"the Ray runner failed: {type(e).__name__}: {e}"[:2000]}
        end = state["end"] or {}
        status = end.get("status", "failed")
        if status == "stopped" and r.shutdown:
            status = "interrupted"
        r.status, r.done = status, True
        if status == "running":
            status = "failed"
        self.sink.finished(r.id, status, end.get("error"), end.get("summary") or state["summary"])

    def _submit_job(self, r: RayRun) -> None:
        payload = self._payload(r.id, r.plan)
        arg = payload
        if len(payload) > MAX_INLINE_PAYLOAD:  # check() allowed it: the data dir is shared
            f = checkpoints.run_dir(Path(self.settings.data_dir).resolve(), r.id) / "payload.txt"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(payload)
            arg = f"@{f}"
        need = self.needs(r.plan)
        try:
            client = self.client()
            client.submit_job(entrypoint=f"{self.settings.ray_python} -m blocklab.runs.ray_job {arg}",
                              submission_id=r.id, entrypoint_num_cpus=need["CPU"],
                              entrypoint_num_gpus=need.get("GPU", 0), metadata={"blocklab_run": r.id})
        except Exception as e:
            if "already exists" in str(e):
                return  # submitted before (idempotent on the run id): follow it
            raise ClusterDown(f"could not submit the run to the Ray cluster at {self.url}: {_short(e)}") from None

    def _tail(self, r: RayRun, state: dict) -> None:
        client = self.client()
        try:
            status = follow_job(client, r.id, lambda line: self._line(r, state, line), self.settings.ray_lost_after)
        except Lost as e:
            state["end"] = state["end"] or {"status": "failed", "error": f"lost contact with the Ray cluster at {self.url}: {e}"}
            return
        if state["end"] is None:
            msg = "" if status == "STOPPED" else _job_message(client, r.id)
            state["end"] = ({"status": "stopped"} if status == "STOPPED" or r.stop.is_set() else
                            {"status": "failed", "error": f"the Ray job ended ({status}) without a result{msg}"})

    def _line(self, r: RayRun, state: dict, line: str) -> None:
        if "follow" not in state:  # the job's lines, each seq once (a replayed tail repeats them)
            def started():
                r.status = "running"

            def checkpoint(which: str, data: bytes) -> None:
                checkpoints.write(checkpoints.path(self.settings.data_dir, r.id, which), _tensors(data))

            state["follow"] = Follower(r.id, self.sink, checkpoint, started)
        follow = state["follow"]
        follow.line(line)
        state["summary"] = follow.summary
        if follow.end is not None:
            state["end"] = follow.end
