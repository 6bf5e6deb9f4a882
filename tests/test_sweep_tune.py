"""Sweeps with Ray Tune on the loopback Ray cluster (`ray_url`): ASHA prunes on epoch metrics,
a trial's run stops on its own and the sweep goes on, stopping a sweep stops its trials (which
keep their weights), and a server that stops mid-sweep leaves it interrupted with its Tune job
stopped."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from blocklab.app import create_app
from runs_fixtures import long_run, wait
from test_sweeps_api import moons_run, wait_sweep


def _job_status(ray_url: str, sweep_id: str) -> str:
    from ray.job_submission import JobSubmissionClient

    return str(JobSubmissionClient(ray_url).get_job_status(f"sweep-{sweep_id}")).rsplit(".", 1)[-1]


def _live_trials(client, sid: str, n: int, timeout: float = 90) -> list[dict]:
    """Wait until n trials' runs are training (have steps)."""
    deadline = time.monotonic() + timeout
    while True:
        trials = [t for t in client.get(f"/api/sweeps/{sid}").json()["trials"] if t["run_id"]]
        if len(trials) >= n and all((client.get(f"/api/runs/{t['run_id']}").json()["metrics"] or {}).get("steps")
                                    for t in trials):
            return trials
        assert time.monotonic() < deadline, trials
        time.sleep(0.2)


def test_asha_prunes_trials_that_fall_behind(ray_client):
    # One trial at a time, so the order is TPE's with seed 6, as in the local pruning test:
    # lr 0.5 twice (they set the rungs), then 1e-6, whose val_loss after epoch 1 is far worse.
    body = {"run": moons_run(epochs=12, optimizer={"name": "sgd", "lr": 0.01}), "trials": 4, "seed": 6,
            "parallel": 1, "space": {"lr": {"choices": [0.5, 1e-6]}}}
    r = ray_client.post("/api/sweeps", json=body)
    assert r.status_code == 201, r.text
    s = wait_sweep(ray_client, r.json()["id"], timeout=180)
    assert s["status"] == "completed", s["error"]
    states = [(t["params"]["lr"], t["state"]) for t in s["trials"]]
    assert states[:2] == [(0.5, "completed")] * 2, states
    assert {lr for lr, st in states if st == "pruned"} == {1e-6} and (0.5, "pruned") not in states, states
    for t in s["trials"]:
        run = ray_client.get(f"/api/runs/{t['run_id']}").json()
        if t["state"] == "pruned":  # stopped early, and its weights still came back
            assert run["status"] == "stopped" and run["metrics"]["epoch"] < 12
            assert ray_client.get(f"/api/runs/{t['run_id']}/state_dict").status_code == 200
        else:
            assert run["status"] == "completed" and run["metrics"]["epoch"] == 12
    assert s["best"]["params"]["lr"] == 0.5


def test_stopping_a_tune_sweep_stops_its_trials(ray_client, ray_url):
    body = {"run": long_run(), "trials": 5, "prune": False, "space": {"lr": {"low": 0.01, "high": 0.1}}}
    sid = ray_client.post("/api/sweeps", json=body).json()["id"]
    first, _ = _live_trials(ray_client, sid, 2)  # the cluster's 2 CPUs: two trials at once
    # One trial's run stopped from its own page: it ends `stopped`, the sweep goes on with the next.
    assert ray_client.post(f"/api/runs/{first['run_id']}/stop").status_code == 200
    run = wait(ray_client, first["run_id"], timeout=60)
    assert run["status"] == "stopped" and run["metrics"]["steps"] > 0
    assert ray_client.get(f"/api/runs/{first['run_id']}/state_dict").status_code == 200  # its weights came back
    live = _live_trials(ray_client, sid, 3)
    assert ray_client.get(f"/api/sweeps/{sid}").json()["status"] == "running"

    assert ray_client.post(f"/api/sweeps/{sid}/stop").json()["status"] == "stopping"
    s = wait_sweep(ray_client, sid, 60)
    assert s["status"] == "stopped"
    assert {t["state"] for t in s["trials"]} == {"stopped"} and len(s["trials"]) == len(live), (s["trials"], live)
    for t in s["trials"]:  # each stopped at its next check and sent its weights back
        run = wait(ray_client, t["run_id"])
        assert run["status"] == "stopped" and run["metrics"]["steps"] > 0
        assert ray_client.get(f"/api/runs/{t['run_id']}/state_dict").status_code == 200
    assert _job_status(ray_url, sid) == "SUCCEEDED"  # the driver ended on its own, not killed


def test_a_server_stopping_mid_tune_sweep_leaves_it_interrupted(ray_client, ray_url):
    settings = ray_client.app.state.settings
    body = {"run": long_run(), "trials": 3, "prune": False, "space": {"lr": {"low": 0.01, "high": 0.1}}}
    sid = ray_client.post("/api/sweeps", json=body).json()["id"]
    _live_trials(ray_client, sid, 1)
    ray_client.__exit__(None, None, None)  # the server shuts down (the fixture's exit then does nothing)
    with TestClient(create_app(settings)) as c:
        s = c.get(f"/api/sweeps/{sid}").json()
        assert s["status"] == "interrupted" and "server stopped" in s["error"]
        assert s["trials"] and {t["state"] for t in s["trials"]} == {"interrupted"}
        for t in s["trials"]:
            assert c.get(f"/api/runs/{t['run_id']}").json()["status"] == "interrupted"
    deadline = time.monotonic() + 30
    while _job_status(ray_url, sid) not in ("STOPPED", "SUCCEEDED", "FAILED"):
        assert time.monotonic() < deadline, "the sweep's Tune job still runs"
        time.sleep(0.5)
