"""DATABASE_URL=postgresql+psycopg://...: designs and runs in a real PostgreSQL server.

The test starts its own throwaway server (initdb + pg_ctl on loopback) and is skipped with a
message where PostgreSQL's server binaries or psycopg are missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

pytest.importorskip("psycopg", reason="psycopg is not installed: pip install -e '.[postgres]'")

from blocklab.app import create_app  # noqa: E402
from blocklab.settings import Settings  # noqa: E402
from graphs import chain  # noqa: E402
from runs_fixtures import read_stream  # noqa: E402

BIN = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), None)


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def pg_url():
    if BIN is None or (os.geteuid() == 0 and not shutil.which("runuser")):
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    d = Path(tempfile.mkdtemp(prefix="blpg"))
    if os.geteuid() == 0:
        shutil.chown(d, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(_as_postgres([f"{BIN}/initdb", "-D", f"{d}/data", "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([f"{BIN}/pg_ctl", "-D", f"{d}/data", "-w", "-l", f"{d}/log", "-o",
                                 f"-p {port} -k {d} -c listen_addresses=127.0.0.1", "start"]), check=True, capture_output=True)
    try:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE blocklab")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/blocklab"
    finally:
        subprocess.run(_as_postgres([f"{BIN}/pg_ctl", "-D", f"{d}/data", "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def test_designs_and_runs_live_in_postgres(pg_url, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=pg_url)
    design = chain([2], ("h", "Linear", {"out_features": 8}), ("a", "ReLU"), ("o", "Linear", {"out_features": 2}))
    with TestClient(create_app(settings)) as c:
        gid = c.post("/api/graphs", json=design).json()["id"]
        rid = c.post("/api/runs", json={"graph_id": gid, "dataset": {"name": "moons", "params": {"n": 200}},
                                        "loss": "cross_entropy", "epochs": 2}).json()["id"]
        with c.websocket_connect(f"/api/runs/{rid}/stream") as ws:
            live = read_stream(ws)
        assert live[-1]["status"] == "completed"
    with TestClient(create_app(settings)) as again:  # a new server, same database
        saved = again.get(f"/api/graphs/{gid}").json()["graph"]["nodes"]
        assert [(n["id"], n["type"], n.get("params", {})) for n in saved] == \
            [(n["id"], n["type"], n.get("params", {})) for n in design["nodes"]]
        stored = again.get(f"/api/runs/{rid}/metrics").json()
        assert [m["seq"] for m in stored] == [m["seq"] for m in live]
        assert again.get(f"/api/runs?graph_id={gid}").json()[0]["status"] == "completed"
