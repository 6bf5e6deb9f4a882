"""The server side of a Ray Tune sweep without a cluster: a Tune driver's log (its own "trial"
and "end" lines, and each trial's run lines tagged `@run <run id>`), fed through TuneSweep as
the tail would (in chunks, then replayed), becomes trial rows and runs stored like any other."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from blocklab.api.sweeps import sweeps_for
from blocklab.runs import store, sweep_store
from blocklab.runs.protocol import Printer
from blocklab.runs.ray_job import stdout_printer
from blocklab.runs.runners.ray_logs import _tail_once
from blocklab.runs.sweep_space import SweepCreate
from blocklab.runs.sweep_tune import TuneSweep
from runs_fixtures import wait
from test_ray_lines import FakeClient
from test_sweeps_api import moons_run

R1, R2, R3 = "a" * 32, "b" * 32, "c" * 32


def driver_log() -> str:
    out = io.StringIO()
    driver = stdout_printer(out)
    out.write("2026 INFO tune.py -- a line of Tune's own\n")
    trial = {rid: Printer(lambda line, rid=rid: out.write(f"@run {rid} {line}")) for rid in (R1, R2)}
    driver("trial", {"run_id": R1, "params": {"lr": 0.01}})
    driver("trial", {"run_id": R2, "params": {"lr": 0.05}})
    for rid in (R1, R2):
        trial[rid]("started", {"device": "cpu"})
    for rid, loss in ((R1, 0.5), (R2, 0.9)):
        trial[rid]("epoch", {"epoch": 1, "step": 4, "val_loss": loss, "train_loss": loss})
        trial[rid]("progress", {"summary": {"epoch": 1, "steps": 4, "val_loss": loss}})
    trial[R2]("end", {"status": "stopped", "error": None, "summary": {"epoch": 1, "steps": 4, "val_loss": 0.9}})
    driver("trial", {"run_id": R3, "params": {"lr": 2.0}, "error": "lr: too large"})
    trial[R1]("epoch", {"epoch": 2, "step": 8, "val_loss": 0.4, "train_loss": 0.4})
    trial[R1]("end", {"status": "completed", "error": None, "summary": {"epoch": 2, "steps": 8, "val_loss": 0.4}})
    driver("end", {"status": "completed", "error": None})
    return out.getvalue()


@pytest.fixture
def tune_sweep(client, monkeypatch):
    owner = sweeps_for(client.app)
    req = SweepCreate.model_validate({"run": moons_run(), "space": {"lr": {"low": 1e-3, "high": 0.1}}, "trials": 3})
    sid = "d" * 32
    sweep_store.insert(owner.engine, {"id": sid, "name": "t", "status": "running", "request": req.model_dump_json(),
                                      "direction": "minimize", "created_at": store.now()})
    s = TuneSweep(sid, req, req.run.model_dump(mode="json", exclude_none=True), owner, arg="")
    log = driver_log()

    def drive():  # what follow_job does: tails (lines split across chunks, replayed), then the whole log
        for chunk in (7, 101, len(log)):
            asyncio.run(_tail_once(FakeClient(log, chunk), "job", s._line))
        for line in log.splitlines():
            s._line(line)
        return s.end["status"], s.end["error"]

    monkeypatch.setattr(s, "_drive", drive)
    return s


def test_a_driver_log_becomes_trials_and_runs(client, tune_sweep):
    tune_sweep.run()  # synchronously: no thread
    s = client.get(f"/api/sweeps/{tune_sweep.id}").json()
    assert s["status"] == "completed"
    got = [(t["number"], t["run_id"], t["params"], t["state"], t["value"], t["epoch"]) for t in s["trials"]]
    assert got == [(0, R1, {"lr": 0.01}, "completed", 0.4, 2), (1, R2, {"lr": 0.05}, "pruned", 0.9, 1),
                   (2, None, {"lr": 2.0}, "failed", None, None)]
    assert s["trials"][2]["error"] == "lr: too large" and s["best"]["run_id"] == R1

    run = wait(client, R1)  # an ordinary run: its row, config and stream
    assert run["status"] == "completed" and run["config"]["optimizer"]["lr"] == 0.01
    msgs = client.get(f"/api/runs/{R1}/metrics").json()
    assert [m["seq"] for m in msgs] == list(range(1, len(msgs) + 1))  # each line once, despite the replay
    assert [(m["type"], m.get("epoch")) for m in msgs if m["type"] in ("epoch", "status")] == [
        ("status", None), ("status", None), ("epoch", 1), ("epoch", 2), ("status", None)]
    assert [m["status"] for m in msgs if m["type"] == "status"] == ["queued", "running", "completed"]
    assert wait(client, R2)["status"] == "stopped"  # pruned by Tune: the run itself was stopped
    assert client.get(f"/api/runs/{R3}").status_code == 404


def test_runs_the_job_left_unfinished_end_with_the_sweep(client, tune_sweep, monkeypatch):
    log = [line for line in driver_log().splitlines() if not line.startswith(f"@run {R1}") or '"epoch": 1' in line
           or '"started"' in line]  # R1 never ends, nor does the driver

    def drive():
        for line in log:
            if '"type": "end"' not in line or line.startswith("@run"):
                tune_sweep._line(line)
        return "failed", "the sweep's Ray job ended (FAILED) without a result"

    monkeypatch.setattr(tune_sweep, "_drive", drive)
    tune_sweep.run()
    s = client.get(f"/api/sweeps/{tune_sweep.id}").json()
    assert s["status"] == "failed" and "without a result" in s["error"]
    assert [t["state"] for t in s["trials"]] == ["failed", "pruned", "failed"]
    run = wait(client, R1)
    assert run["status"] == "failed" and "without a result" in run["error"]
    assert json.loads(json.dumps(run["metrics"]))["epoch"] == 1
