"""Helpers for the run tests: templates, run bodies, stream collection, waiting for a status."""

from __future__ import annotations

import json
import time
from importlib import resources

FINISHED = {"completed", "failed", "stopped", "interrupted"}


def template(name: str) -> dict:
    return json.loads((resources.files("blocklab") / "templates" / f"{name}.json").read_text())


def run_body(name: str, **overrides) -> dict:
    t = template(name)
    return {"graph": t["graph"], **t["train"], **overrides}


def mlp(inputs: int, hidden: int, outputs: int, act: str = "ReLU") -> dict:
    return {
        "version": 1, "name": "mlp",
        "nodes": [
            {"id": "X", "type": "Input", "params": {"shape": [inputs]}},
            {"id": "hidden", "type": "Linear", "params": {"out_features": hidden}},
            {"id": "act", "type": act},
            {"id": "out", "type": "Linear", "params": {"out_features": outputs}},
            {"id": "Y", "type": "Output"},
        ],
        "edges": [{"source": a, "target": b} for a, b in
                  [("X", "hidden"), ("hidden", "act"), ("act", "out"), ("out", "Y")]],
    }


def long_run(**overrides) -> dict:
    """A run that keeps going until stopped (moons, tiny batches, many epochs)."""
    body = {"graph": mlp(2, 16, 2), "dataset": {"name": "moons", "params": {"n": 2000}}, "loss": "cross_entropy",
            "optimizer": {"name": "sgd", "lr": 0.05}, "epochs": 100_000, "batch_size": 4, "seed": 0, "device": "cpu"}
    return body | overrides


def create(client, body: dict) -> str:
    r = client.post("/api/runs", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def wait(client, run_id: str, statuses=FINISHED, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']}"
        time.sleep(0.02)


def read_stream(ws, until=None) -> list[dict]:
    """Every message until the server closes the socket (or `until(msg)` is true)."""
    from starlette.websockets import WebSocketDisconnect

    out = []
    while True:
        try:
            m = json.loads(ws.receive_text())
        except WebSocketDisconnect:
            return out
        out.append(m)
        if until is not None and until(m):
            return out


def assert_gapless(msgs: list[dict], after: int = 0) -> None:
    seqs = [m["seq"] for m in msgs]
    assert seqs == list(range(after + 1, after + 1 + len(seqs))), seqs[:50]


def exported_model(client, graph: dict):
    """A fresh `Model()` from POST /api/export/python, run as a standalone file would be."""
    from graphs import load_exported

    src = client.post("/api/export/python", json=graph)
    assert src.status_code == 200, src.text
    return load_exported(src.text)()
