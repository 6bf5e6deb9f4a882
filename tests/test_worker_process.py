"""Each local run trains in a worker process of its own (runs/runners/local.py): Stop ends
even a step that never returns, a killed worker fails only its own run, a worker's memory is
capped, and runs with one seed give the same numbers side by side."""

from __future__ import annotations

import os
import signal
import time

from fastapi.testclient import TestClient

from blocklab.app import create_app
from blocklab.settings import Settings
from runs_fixtures import create, long_run, mlp, wait

# Every step runs 10,000 rounds of [B, 1024] @ [1024, 1024]: about a minute a step here.
SLOW_STEP = {
    "version": 1, "name": "slow",
    "nodes": [
        {"id": "X", "type": "Input", "params": {"shape": [1024]}},
        {"id": "spin", "type": "CustomLayer", "params": {
            "expr": "i = x.sum() * 0\nwhile i < 1000:\n    j = i * 0\n    while j < 1000:\n"
                    "        x = tanh(x @ c)\n        j += 1\n    i += 1\nx",
            "constants": {"c": {"shape": [1024, 1024], "init": "randn"}}, "max_iter": 100}},
        {"id": "out", "type": "Linear", "params": {"out_features": 2}},
        {"id": "Y", "type": "Output"},
    ],
    "edges": [{"source": "X", "target": "spin"}, {"source": "spin", "target": "out"}, {"source": "out", "target": "Y"}],
}


def _slow_body() -> dict:
    return {"graph": SLOW_STEP, "dataset": {"name": "blobs", "params": {"n": 256, "n_features": 1024, "centers": 2}},
            "loss": "cross_entropy", "epochs": 5, "batch_size": 32, "device": "cpu"}


def _worker_pid(client, rid: str, timeout: float = 60) -> int:
    runner = client.app.state.runs.runner
    deadline = time.monotonic() + timeout
    while (pid := getattr(runner.active.get(rid), "pid", None)) is None:
        assert time.monotonic() < deadline, "the run's worker never started"
        time.sleep(0.02)
    return pid


def test_stop_ends_a_step_that_would_take_a_minute(client):
    rid = create(client, _slow_body())
    _worker_pid(client, rid)
    time.sleep(1.0)  # well inside the first step
    t = time.monotonic()
    assert client.post(f"/api/runs/{rid}/stop").status_code in (200, 202)
    run = wait(client, rid, timeout=30)
    took = time.monotonic() - t
    assert run["status"] == "stopped", run
    assert took < 10, f"Stop took {took:.1f} s for a step of about a minute"  # a bound, not a benchmark


def test_a_killed_worker_fails_its_run_and_the_server_lives_on(client):
    rid = create(client, long_run())
    pid = _worker_pid(client, rid)
    wait(client, rid, statuses={"running"})
    os.kill(pid, signal.SIGKILL)
    run = wait(client, rid, timeout=30)
    assert run["status"] == "failed" and "SIGKILL" in run["error"], run
    assert client.get("/api/blocks").status_code == 200
    after = create(client, long_run(epochs=1, dataset={"name": "moons", "params": {"n": 200}}))
    assert wait(client, after, timeout=60)["status"] == "completed"  # a fresh worker took its place


def test_a_run_over_its_memory_cap_fails_with_a_message(tmp_path):
    # 64 MiB beyond its data, for a design whose [4096, 8192] activations alone take 128 MiB.
    with TestClient(create_app(Settings(data_dir=tmp_path, max_worker_bytes=64 * 2**20))) as c:
        body = {"graph": mlp(64, 8192, 2), "dataset": {"name": "blobs", "params": {"n": 4096, "n_features": 64,
                "centers": 2}}, "loss": "cross_entropy", "epochs": 1, "batch_size": 4096, "device": "cpu"}
        run = wait(c, create(c, body), timeout=60)
        assert run["status"] == "failed", run
        assert "more memory than its worker may use" in run["error"] and "64 MiB" in run["error"], run["error"]
        small = body | {"graph": mlp(64, 16, 2), "batch_size": 64}  # the server and its next worker are fine
        assert wait(c, create(c, small), timeout=60)["status"] == "completed"


def _losses(client, rid: str) -> list[float]:
    msgs = client.get(f"/api/runs/{rid}/metrics", params={"type": "epoch"}).json()
    return [m["train_loss"] for m in msgs]


def test_runs_with_one_seed_give_the_same_numbers_side_by_side_and_after(tmp_path):
    graph = mlp(2, 64, 2)
    graph["nodes"].insert(3, {"id": "drop", "type": "Dropout", "params": {"p": 0.5}})
    graph["edges"] = [{"source": a, "target": b} for a, b in
                      [("X", "hidden"), ("hidden", "act"), ("act", "drop"), ("drop", "out"), ("out", "Y")]]
    body = {"graph": graph, "dataset": {"name": "moons", "params": {"n": 2000}}, "loss": "cross_entropy",
            "epochs": 3, "batch_size": 16, "seed": 7, "device": "cpu"}
    with TestClient(create_app(Settings(data_dir=tmp_path, max_concurrent_runs=2))) as c:
        a, b = create(c, body), create(c, body)  # trained at the same time, in two workers
        assert wait(c, a)["status"] == wait(c, b)["status"] == "completed"
        later = create(c, body)
        assert wait(c, later)["status"] == "completed"
        first = _losses(c, a)
        assert len(first) == 3 and first == _losses(c, b) == _losses(c, later)
        other = create(c, body | {"seed": 8})
        wait(c, other)
        assert _losses(c, other) != first  # the seed is what makes them equal
