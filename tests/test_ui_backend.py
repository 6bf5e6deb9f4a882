"""Backend features the training dashboard relies on: dataset samples, runs linked to a
saved design, and the `start` message with steps_per_epoch."""

from __future__ import annotations

import json
import sqlite3

from fastapi.testclient import TestClient

from blocklab.app import create_app
from graphs import chain


def test_dataset_samples(client):
    r = client.get("/api/datasets/moons/samples", params={"split": "val", "limit": 50, "params": json.dumps({"n": 400})})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["total"] == 100 and len(s["inputs"]) == 50 and len(s["targets"]) == 50
    assert all(len(p) == 2 for p in s["inputs"]) and set(s["targets"]) <= {0, 1}
    assert client.get("/api/datasets/nope/samples").status_code == 404
    assert client.get("/api/datasets/moons/samples", params={"params": '{"n": -5}'}).status_code == 422
    assert client.get("/api/datasets/moons/samples", params={"params": "[oops"}).status_code == 422


def test_runs_link_to_their_design_and_report_steps_per_epoch(client):
    design = chain([2], ("h", "Linear", {"out_features": 8}), ("a", "ReLU"), ("o", "Linear", {"out_features": 2}))
    gid = client.post("/api/graphs", json=design).json()["id"]
    body = {"dataset": {"name": "moons", "params": {"n": 100}}, "loss": "cross_entropy", "epochs": 1, "batch_size": 32}
    r1 = client.post("/api/runs", json={**body, "graph_id": gid})
    r2 = client.post("/api/runs", json={**body, "graph": design, "graph_id": gid})  # unsaved edits, same design
    r3 = client.post("/api/runs", json={**body, "graph": design})
    assert {r.status_code for r in (r1, r2, r3)} == {201}
    assert client.post("/api/runs", json={**body, "graph": design, "graph_id": "missing"}).status_code == 422
    linked = {r["id"] for r in client.get("/api/runs", params={"graph_id": gid}).json()}
    assert linked == {r1.json()["id"], r2.json()["id"]}
    rid = r1.json()["id"]
    with client.websocket_connect(f"/api/runs/{rid}/stream") as ws:
        msgs = []
        while not msgs or msgs[-1]["type"] != "status" or msgs[-1]["status"] not in ("completed", "failed"):
            msgs.append(ws.receive_json())
    start = next(m for m in msgs if m["type"] == "start")
    assert start == {**start, "steps_per_epoch": 4, "n_train": 100, "n_val": 25, "epochs": 1}  # ceil(100 / 32)
    assert msgs.index(start) < min(i for i, m in enumerate(msgs) if m["type"] == "step")
    assert client.get(f"/api/runs/{rid}").json()["graph_id"] == gid


def test_old_data_dirs_gain_new_columns_without_losing_rows(settings):
    settings.data_dir.mkdir(parents=True)
    db = settings.data_dir / "blocklab.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE runs (id VARCHAR(32) PRIMARY KEY, name VARCHAR(200) NOT NULL, status VARCHAR(16) NOT NULL,"
                " config TEXT NOT NULL, graph TEXT NOT NULL, created_at VARCHAR(40) NOT NULL, started_at VARCHAR(40),"
                " finished_at VARCHAR(40), error TEXT, summary TEXT, device VARCHAR(16))")
    con.execute("INSERT INTO runs VALUES ('r1', 'old', 'completed', '{}', '{}', '2026-01-01', NULL, NULL, NULL, NULL, 'cpu')")
    con.commit()
    con.close()
    with TestClient(create_app(settings)) as c:
        runs = c.get("/api/runs").json()
    assert [(r["id"], r["name"], r.get("graph_id")) for r in runs] == [("r1", "old", None)]


def test_training_memory_is_estimated_before_anything_is_allocated(client):
    # 1M values per sample at batch 4096: ~16 GiB of activations, refused from shapes alone.
    design = chain([1000, 1000], ("s", "Scale", {"factor": 2.0}))
    body = {"graph": design, "dataset": {"name": "moons"}, "loss": "mse", "batch_size": 4096}
    r = client.post("/api/runs", json=body)
    assert r.status_code == 422
    err = next(e for e in r.json()["detail"]["errors"] if e["field"] == "batch_size")
    assert "needs about" in err["message"] and "GiB" in err["message"]


def test_viewers_per_run_are_capped(tmp_path):
    from blocklab.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path, max_viewers_per_run=2))) as c:
        design = chain([2], ("o", "Linear", {"out_features": 2}))
        rid = c.post("/api/runs", json={"graph": design, "dataset": {"name": "moons", "params": {"n": 50000}},
                                        "loss": "cross_entropy", "epochs": 50}).json()["id"]
        with c.websocket_connect(f"/api/runs/{rid}/stream") as a, c.websocket_connect(f"/api/runs/{rid}/stream") as b:
            a.receive_json(), b.receive_json()
            with c.websocket_connect(f"/api/runs/{rid}/stream") as third:
                msg = third.receive()
                assert msg["type"] == "websocket.close" and msg["code"] == 4429
        c.post(f"/api/runs/{rid}/stop")


def test_wall_time_limit_fails_the_run_and_keeps_its_weights(tmp_path):
    from blocklab.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path, max_run_seconds=0.5))) as c:
        design = chain([2], ("o", "Linear", {"out_features": 2}))
        rid = c.post("/api/runs", json={"graph": design, "dataset": {"name": "moons", "params": {"n": 50000}},
                                        "loss": "cross_entropy", "epochs": 500, "batch_size": 8}).json()["id"]
        with c.websocket_connect(f"/api/runs/{rid}/stream") as ws:
            msg = {}
            while not (msg.get("type") == "status" and msg["status"] in ("completed", "failed", "stopped")):
                msg = ws.receive_json()
        assert msg["status"] == "failed" and "wall-time limit of 0.5 s" in msg["error"]
        assert c.get(f"/api/runs/{rid}/state_dict", params={"format": "safetensors"}).status_code == 200
