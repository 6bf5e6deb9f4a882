"""Sweeps: Optuna over a run body's fields, each trial an ordinary run through the run manager."""

from __future__ import annotations

import time

import pytest

from runs_fixtures import long_run, mlp, wait
from blocklab.runs import sweep_store

FINAL = {"completed", "stopped", "failed", "interrupted"}


def moons_run(**kw) -> dict:
    return {"graph": mlp(2, 8, 2), "dataset": {"name": "moons", "params": {"n": 200}}, "loss": "cross_entropy",
            "optimizer": {"name": "adam", "lr": 0.01}, "epochs": 2, "batch_size": 50, "device": "cpu"} | kw


def wait_sweep(client, sid: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        s = client.get(f"/api/sweeps/{sid}").json()
        if s["status"] in FINAL:
            return s
        assert time.monotonic() < deadline, f"sweep still {s['status']}: {s['trials']}"
        time.sleep(0.05)


def test_a_sweep_runs_its_trials_as_runs_and_names_the_best(client):
    body = {"run": moons_run(), "trials": 4, "metric": "val_accuracy", "parallel": 2, "prune": False,
            "space": {"lr": {"low": 1e-3, "high": 0.1, "log": True}, "batch_size": {"choices": [25, 50]},
                      "nodes.hidden.out_features": {"low": 4, "high": 32}}}
    r = client.post("/api/sweeps", json=body)
    assert r.status_code == 201, r.text
    s = wait_sweep(client, r.json()["id"])
    assert s["status"] == "completed" and s["direction"] == "maximize"  # inferred from the metric
    trials = s["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2, 3] and all(t["state"] == "completed" for t in trials)
    for t in trials:
        run = client.get(f"/api/runs/{t['run_id']}").json()
        assert run["status"] == "completed"
        assert run["config"]["optimizer"]["lr"] == pytest.approx(t["params"]["lr"])
        assert run["config"]["batch_size"] == t["params"]["batch_size"] and 1e-3 <= t["params"]["lr"] <= 0.1
        hidden = next(n for n in run["graph"]["nodes"] if n["id"] == "hidden")
        assert hidden["params"]["out_features"] == t["params"]["nodes.hidden.out_features"]
        assert isinstance(t["params"]["nodes.hidden.out_features"], int)
        assert t["value"] == pytest.approx(run["metrics"]["val_accuracy"])  # the run's final metric
    assert s["best"]["value"] == max(t["value"] for t in trials)
    best_run = s["best_run"]
    assert best_run["batch_size"] == s["best"]["params"]["batch_size"]
    assert client.post("/api/runs", json=best_run).status_code == 201  # a run from the best trial
    assert s["id"] in {x["id"] for x in client.get("/api/sweeps").json()}


@pytest.mark.parametrize("space,field,needle", [
    ({"optimizer.nope": {"low": 0.1, "high": 0.2}}, "space.optimizer.nope", "Extra inputs"),
    ({"nodes.ghost.out_features": {"low": 2, "high": 4}}, "space.nodes.ghost.out_features", "no node 'ghost'"),
    ({"graph.name": {"choices": ["a"]}}, "space.graph.name", "not a run field a sweep can vary"),
    ({"lr": {"low": 0.1, "high": 1000}}, "space.lr", "at 1000"),
    ({"nodes.hidden.out_features": {"low": 1, "high": 10**9}}, "space.nodes.hidden.out_features", "at 1000000000"),
    ({"num_workers": {"choices": [1, 2]}}, "space.num_workers", "not a run field a sweep can vary"),
])
def test_a_bad_space_names_its_key(client, space, field, needle):
    r = client.post("/api/sweeps", json={"run": moons_run(), "space": space, "trials": 2})
    assert r.status_code == 422, r.text
    err = r.json()["detail"]["errors"][0]
    assert err["field"] == field and needle in err["message"], err
    assert client.get("/api/sweeps").json() == []


def test_trials_the_runner_refuses_are_refused_up_front(client):
    # The local runner cannot train data-parallel runs (num_workers > 1 needs a Ray cluster).
    r = client.post("/api/sweeps", json={"run": moons_run(num_workers=2), "space": {"lr": {"choices": [0.1]}}})
    assert r.status_code == 422
    err = r.json()["detail"]["errors"][0]
    assert err["field"] == "run" and "num_workers" in err["message"] and "Ray" in err["message"]


def test_malformed_sweeps_get_422(client):
    for bad in [{"run": moons_run(), "space": {}}, {"run": moons_run(), "space": {"lr": {"low": 1, "high": 0.1}}},
                {"run": moons_run(), "space": {"lr": {"low": -1, "high": 1, "log": True}}},
                {"run": moons_run(), "space": {"lr": {"choices": []}}}, {"run": moons_run(), "space": {"lr": {"low": 0.1, "high": 0.2}}, "trials": 0},
                {"run": moons_run(dataset={"name": "nope"}), "space": {"lr": {"choices": [0.1]}}},
                {"run": moons_run(), "space": {f"dataset.params.x{i}": {"choices": list(range(20))} for i in range(6)}}]:
        assert client.post("/api/sweeps", json=bad).status_code == 422, bad
    assert client.get("/api/sweeps/nope").status_code == 404 and client.post("/api/sweeps/nope/stop").status_code == 404


def test_stopping_a_sweep_stops_its_trials(client):
    body = {"run": long_run(), "trials": 5, "parallel": 2, "space": {"lr": {"low": 0.01, "high": 0.1}}}
    sid = client.post("/api/sweeps", json=body).json()["id"]
    deadline = time.monotonic() + 30
    while len([t for t in client.get(f"/api/sweeps/{sid}").json()["trials"] if t["run_id"]]) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.post(f"/api/sweeps/{sid}/stop").json()["status"] == "stopping"
    s = wait_sweep(client, sid, 30)
    assert s["status"] == "stopped" and len(s["trials"]) == 2  # no trial launched after the stop
    for t in s["trials"]:
        assert t["state"] == "stopped" and wait(client, t["run_id"])["status"] == "stopped"


def test_pruning_stops_trials_behind_the_median(client):
    # TPE with seed 6 draws lr 0.5, 0.5, then 1e-6 (0.5 twice more, then 1e-6): the two first
    # trials set the median, and a 1e-6 trial's val_loss after epoch 1 is far worse, so it stops.
    body = {"run": moons_run(epochs=100, optimizer={"name": "sgd", "lr": 0.01}), "trials": 6, "seed": 6,
            "space": {"lr": {"choices": [0.5, 1e-6]}}}
    s = wait_sweep(client, client.post("/api/sweeps", json=body).json()["id"])
    assert s["status"] == "completed"
    states = [(t["params"]["lr"], t["state"]) for t in s["trials"]]
    assert states[:2] == [(0.5, "completed")] * 2
    assert {lr for lr, st in states if st == "pruned"} == {1e-6} and (0.5, "pruned") not in states
    for t in s["trials"]:
        if t["state"] == "pruned":
            run = client.get(f"/api/runs/{t['run_id']}").json()
            assert run["status"] == "stopped" and run["metrics"]["epoch"] < 100
    assert s["best"]["params"]["lr"] == 0.5


def test_a_sweep_left_running_is_interrupted_at_restart_with_its_finished_trials(settings):
    from fastapi.testclient import TestClient

    from blocklab.app import create_app

    body = {"run": moons_run(epochs=1), "trials": 3, "space": {"lr": {"low": 0.01, "high": 0.1}}, "prune": False}
    with TestClient(create_app(settings)) as c:
        sid = c.post("/api/sweeps", json=body).json()["id"]
        wait_sweep(c, sid)
        # Make it look like a server that died mid-sweep: running, one trial still running.
        with c.app.state.engine.begin() as conn:
            conn.execute(sweep_store.sweeps.update().values(status="running", finished_at=None))
            conn.execute(sweep_store.sweep_trials.update().where(sweep_store.sweep_trials.c.number == 2)
                         .values(state="running"))
    with TestClient(create_app(settings)) as c:
        s = c.get(f"/api/sweeps/{sid}").json()
        assert s["status"] == "interrupted" and "server stopped" in s["error"]
        assert [t["state"] for t in s["trials"]] == ["completed", "completed", "interrupted"]
        assert s["best"]["number"] in (0, 1)


def test_a_server_stopping_mid_sweep_leaves_it_interrupted(settings):
    from fastapi.testclient import TestClient

    from blocklab.app import create_app

    with TestClient(create_app(settings)) as c:
        sid = c.post("/api/sweeps", json={"run": long_run(), "trials": 3,
                                          "space": {"lr": {"low": 0.01, "high": 0.1}}}).json()["id"]
        deadline = time.monotonic() + 30
        while not c.get(f"/api/sweeps/{sid}").json()["trials"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    with TestClient(create_app(settings)) as c:
        s = c.get(f"/api/sweeps/{sid}").json()
        assert s["status"] == "interrupted" and [t["state"] for t in s["trials"]] == ["interrupted"]
        assert c.get(f"/api/runs/{s['trials'][0]['run_id']}").json()["status"] == "interrupted"


def test_live_sweeps_are_bounded(client, monkeypatch):
    from blocklab.runs import sweeps

    monkeypatch.setattr(sweeps, "MAX_LIVE", 1)
    body = {"run": long_run(), "trials": 2, "space": {"lr": {"low": 0.01, "high": 0.1}}}
    first = client.post("/api/sweeps", json=body).json()["id"]
    r = client.post("/api/sweeps", json=body)
    assert r.status_code == 429 and r.headers["Retry-After"] and "1 sweeps are running" in r.json()["detail"]
    client.post(f"/api/sweeps/{first}/stop")
    assert wait_sweep(client, first, 30)["status"] == "stopped"
