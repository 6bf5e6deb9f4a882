"""Kill the server mid-run (SIGKILL: no shutdown code runs), start it again: the run is
`interrupted`, and every message it had recorded is still there."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import torch
from safetensors.torch import load as st_load

from runs_fixtures import assert_gapless, long_run

BIN = Path(sys.executable).with_name("blocklab")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(data_dir: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([str(BIN), "serve", "--port", str(port), "--data-dir", str(data_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=os.environ | {"BLOCKLAB_CHECKPOINT_INTERVAL": "0.5"})
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/datasets", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)


def _descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        kids = Path(f"/proc/{todo.pop()}/task").glob("*/children")
        for f in kids:
            for k in f.read_text().split():
                out.add(int(k))
                todo.append(int(k))
    return out


def _running(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_sigkill_then_restart_marks_interrupted_and_keeps_metrics(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}/api"
    proc = _serve(tmp_path, port)
    try:
        rid = httpx.post(f"{base}/runs", json=long_run(stats_every=50)).json()["id"]
        deadline = time.monotonic() + 30
        while sum(m["type"] == "epoch" for m in httpx.get(f"{base}/runs/{rid}/metrics").json()) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.6)  # past a checkpoint
        seen = httpx.get(f"{base}/runs/{rid}/metrics").json()
        assert httpx.get(f"{base}/runs/{rid}").json()["status"] == "running"
        time.sleep(1.0)  # past the writer's batch interval (0.25 s): everything seen is committed
        workers = _descendants(proc.pid)  # the forkserver and the run's worker process among them
        assert workers
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    deadline = time.monotonic() + 10
    while alive := [pid for pid in workers if _running(pid)]:  # no training orphan outlives the server
        assert time.monotonic() < deadline, f"worker processes {alive} outlived the killed server"
        time.sleep(0.1)

    # Before the server starts again: the database survived the kill intact.
    with sqlite3.connect(next(tmp_path.rglob("blocklab.db"))) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    proc = _serve(tmp_path, port)
    try:
        run = httpx.get(f"{base}/runs/{rid}").json()
        assert run["status"] == "interrupted" and "server stopped" in run["error"]
        assert run["metrics"]["epoch"] >= 2
        stored = httpx.get(f"{base}/runs/{rid}/metrics").json()
        assert_gapless(stored)
        assert stored[:len(seen)] == seen  # everything seen before the kill was stored
        assert stored[-1]["type"] == "status" and stored[-1]["status"] == "interrupted"
        assert sum(m["type"] == "epoch" for m in stored) >= 2
        # The weights checkpointed before the kill are downloadable.
        r = httpx.get(f"{base}/runs/{rid}/state_dict?format=safetensors")
        assert r.status_code == 200
        last = st_load(r.content)  # a whole, readable checkpoint (written atomically)
        assert last and all(torch.isfinite(t).all() for t in last.values())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
