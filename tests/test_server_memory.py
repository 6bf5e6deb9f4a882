"""Under BLOCKLAB_MAX_TRAIN_BYTES=64 MiB, hostile designs and requests never make the server
process grow by more than twice that limit (its RSS, measured from outside in a subprocess
server): everything that would allocate is refused from shapes first, and training happens in
worker processes with memory caps of their own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from live_server import free_port
from runs_fixtures import mlp

BIN = Path(sys.executable).with_name("blocklab")
LIMIT = 64 * 2**20


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _constants(n: int, side: int) -> dict:
    """n CustomLayers in a chain, each holding a [side, side] constant."""
    nodes = [{"id": "X", "type": "Input", "params": {"shape": [side]}}]
    for i in range(n):
        nodes.append({"id": f"c{i}", "type": "CustomLayer", "params": {
            "expr": "x @ k", "constants": {"k": {"shape": [side, side], "init": "randn"}}}})
    nodes.append({"id": "Y", "type": "Output"})
    return {"version": 1, "name": "consts", "nodes": nodes,
            "edges": [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:])]}


def _outer(features: int) -> dict:
    return {"version": 1, "name": "outer", "nodes": [
        {"id": "X", "type": "Input", "params": {"shape": [features]}},
        {"id": "g", "type": "CustomLayer", "params": {
            "expr": "h = reshape(x, 1, -1)\ng = transpose(h, 0, 1) @ h\nreshape(g.sum(dim=1, keepdim=True), -1, "
                    f"{features})"}},
        {"id": "Y", "type": "Output"}],
        "edges": [{"source": "X", "target": "g"}, {"source": "g", "target": "Y"}]}


def _cycle(n: int) -> dict:
    nodes = [{"id": "X", "type": "Input", "params": {"shape": [4]}}, {"id": "add", "type": "Add"}]
    nodes += [{"id": f"r{i}", "type": "ReLU"} for i in range(n)]
    edges = [{"source": "X", "target": "add"}, {"source": "add", "target": "r0"}]
    edges += [{"source": f"r{i}", "target": f"r{i + 1}"} for i in range(n - 1)]
    edges.append({"source": f"r{n - 1}", "target": "add"})
    return {"version": 1, "name": "cycle", "nodes": nodes, "edges": edges}


def test_hostile_inputs_leave_the_server_within_twice_the_training_limit(tmp_path):
    port = free_port()
    env = os.environ | {"BLOCKLAB_MAX_TRAIN_BYTES": str(LIMIT)}
    proc = subprocess.Popen([str(BIN), "serve", "--port", str(port), "--data-dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    base = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/blocks", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        small = {"graph": mlp(2, 16, 2), "dataset": {"name": "moons", "params": {"n": 500}},
                 "loss": "cross_entropy", "epochs": 1, "device": "cpu"}

        def train(body: dict) -> httpx.Response:
            r = httpx.post(f"{base}/runs", json=body, timeout=60)
            if r.status_code == 201:
                rid = r.json()["id"]
                while httpx.get(f"{base}/runs/{rid}", timeout=10).json()["status"] in ("queued", "running"):
                    time.sleep(0.1)
            return r

        # Warm: the code paths a request takes are imported and their caches filled once.
        assert train(small).status_code == 201
        httpx.post(f"{base}/graphs/validate", json=_constants(2, 64), timeout=60)
        before = _rss(proc.pid)

        hostile = [_constants(8, 4096), _constants(400, 2048), _outer(4096), _cycle(2000)]
        for _ in range(2):
            for doc in hostile:
                v = httpx.post(f"{base}/graphs/validate", json=doc, timeout=120)
                assert v.status_code == 200 and not v.json()["ok"], v.text[:300]
                assert len(v.content) < 1_000_000
                assert train(small | {"graph": doc}).status_code == 422
                assert httpx.post(f"{base}/export/python", json=doc, timeout=60).status_code == 422
            big = httpx.get(f"{base}/datasets/blobs/samples", params={
                "params": '{"n": 2000000, "n_features": 20, "centers": 3}'}, timeout=60)
            assert big.status_code == 422
        # What fits is still trained, in a worker.
        assert train(small | {"graph": mlp(64, 256, 2), "batch_size": 256,
                              "dataset": {"name": "blobs", "params": {"n": 4096, "n_features": 64, "centers": 2}}}).status_code == 201
        grew = _rss(proc.pid) - before
        assert grew < 2 * LIMIT, f"the server grew by {grew / 2**20:.0f} MiB"
    finally:
        proc.terminate()
        proc.wait(30)
