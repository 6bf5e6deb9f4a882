"""Issue #17's must-show: a sweep of 8 trials over lr and hidden width on moons finishes, locally
(Optuna through the run manager) and on the loopback Ray cluster (Ray Tune), and its best
trial is the best of the runs' own results."""

from __future__ import annotations

import pytest

from test_sweeps_api import moons_run, wait_sweep

WIDTH = "nodes.hidden.out_features"
SWEEP = {"run": moons_run(epochs=3), "trials": 8, "metric": "val_accuracy", "prune": False, "parallel": 2,
         "space": {"lr": {"low": 1e-3, "high": 0.3, "log": True}, WIDTH: {"low": 4, "high": 64}}}


def hidden_width(graph: dict) -> int:
    return next(n for n in graph["nodes"] if n["id"] == "hidden")["params"]["out_features"]


def check_sweep(client, timeout: float) -> dict:
    r = client.post("/api/sweeps", json=SWEEP)
    assert r.status_code == 201, r.text
    s = wait_sweep(client, r.json()["id"], timeout=timeout)
    assert s["status"] == "completed", (s["error"], s["trials"])
    trials = s["trials"]
    assert [t["number"] for t in trials] == list(range(8)) and {t["state"] for t in trials} == {"completed"}, trials
    assert len({t["run_id"] for t in trials}) == 8

    runs = {}
    for t in trials:  # each trial links to its run, which trained exactly the trial's point
        run = client.get(f"/api/runs/{t['run_id']}").json()
        assert run["status"] == "completed", run.get("error")
        assert run["config"]["optimizer"]["lr"] == pytest.approx(t["params"]["lr"])
        assert 1e-3 <= t["params"]["lr"] <= 0.3 and 4 <= t["params"][WIDTH] <= 64
        assert hidden_width(run["graph"]) == t["params"][WIDTH]
        epochs = [m for m in client.get(f"/api/runs/{t['run_id']}/metrics").json() if m["type"] == "epoch"]
        assert [m["epoch"] for m in epochs] == [1, 2, 3]  # its stream, stored like any run's
        runs[t["run_id"]] = run["metrics"]["val_accuracy"]  # the run's own result, not the sweep's copy
        assert t["value"] == pytest.approx(runs[t["run_id"]])

    best = s["best"]
    top = max(runs.values())
    assert runs[best["run_id"]] == top  # the best trial's run has the best result of all the runs
    assert best["value"] == max(t["value"] for t in trials)  # and the table's best accuracy
    assert client.get(f"/api/runs/{best['run_id']}/state_dict").status_code == 200  # its weights
    assert client.get(f"/api/runs/{best['run_id']}/tensorboard").status_code == 200  # its event files

    # "start a run from the best trial": the body the sweep offers trains the best's point
    body = s["best_run"]
    assert body["optimizer"]["lr"] == best["params"]["lr"] and hidden_width(body["graph"]) == best["params"][WIDTH]
    r = client.post("/api/runs", json=body)
    assert r.status_code == 201, r.text
    run = client.get(f"/api/runs/{r.json()['id']}").json()
    assert run["config"]["optimizer"]["lr"] == pytest.approx(best["params"]["lr"])
    assert hidden_width(run["graph"]) == best["params"][WIDTH]
    return s


def test_a_moons_sweep_of_8_trials_finishes_locally(client):
    check_sweep(client, timeout=120)


def test_the_same_sweep_runs_with_ray_tune_on_the_cluster(ray_client, ray_url):
    s = check_sweep(ray_client, timeout=240)
    from ray.job_submission import JobSubmissionClient

    # One Ray job drove the sweep (Tune); its trials were not jobs of their own.
    jobs = {j.submission_id: j for j in JobSubmissionClient(ray_url).list_jobs()}
    assert str(jobs[f"sweep-{s['id']}"].status).endswith("SUCCEEDED")
    assert not {t["run_id"] for t in s["trials"]} & set(jobs)
