"""A real Ray cluster on loopback, started once per test session for every test that asks for
`ray_url` (a head node with 2 CPUs and its dashboard, which serves the Jobs API), and
`ray_client`, a TestClient of an app whose runner is that cluster; registered in conftest.py. Tests that use it are skipped where Ray is not installed: pip install -e '.[ray]'."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

RAY = str(Path(sys.executable).parent / "ray")
MARKER = "BLOCKLAB_TEST_RAY_CLUSTER"


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _pids_of(marker: str) -> list[int]:
    """The processes of our cluster only: each inherits the marker in its environment from
    `ray start` (Ray's daemons, workers and the jobs' entry points)."""
    pids = []
    needle = f"{MARKER}={marker}".encode()
    for p in Path("/proc").iterdir():
        if p.name.isdigit() and int(p.name) != os.getpid():
            try:
                if needle in (p / "environ").read_bytes().split(b"\0"):
                    pids.append(int(p.name))
            except OSError:
                pass
    return pids


def _stop_cluster(marker: str) -> None:
    # `ray stop` would stop every Ray on this machine; end only the processes we started.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _pids_of(marker):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        while _pids_of(marker) and time.monotonic() < deadline:
            time.sleep(0.1)


@pytest.fixture(scope="session")
def ray_url():
    pytest.importorskip("ray.job_submission", reason="Ray is not installed: pip install -e '.[ray]'")
    gcs, dash, client, agent_http, agent_grpc, metrics, env_agent = free_ports(7)
    temp_dir = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    env = os.environ | {MARKER: temp_dir, "RAY_USAGE_STATS_ENABLED": "0", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    cmd = [RAY, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={gcs}", "--dashboard-host=127.0.0.1",
           f"--dashboard-port={dash}", "--num-cpus=2", "--num-gpus=0", "--include-dashboard=true",
           f"--ray-client-server-port={client}", f"--dashboard-agent-listen-port={agent_http}",
           f"--dashboard-agent-grpc-port={agent_grpc}", f"--metrics-export-port={metrics}",
           f"--runtime-env-agent-port={env_agent}", f"--temp-dir={temp_dir}", "--disable-usage-stats"]
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            pytest.fail(f"ray start failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        url = f"http://127.0.0.1:{dash}"
        from ray.job_submission import JobSubmissionClient

        deadline = time.monotonic() + 60
        while True:  # the Jobs API answers a little after `ray start` returns
            try:
                JobSubmissionClient(url).list_jobs()
                break
            except Exception:
                assert time.monotonic() < deadline, "the Ray dashboard never came up"
                time.sleep(0.5)
        yield url
    finally:
        _stop_cluster(temp_dir)


@pytest.fixture
def ray_client(ray_url, tmp_path):
    from fastapi.testclient import TestClient

    from blocklab.app import create_app
    from blocklab.settings import Settings

    s = Settings(data_dir=tmp_path / "data", runner=ray_url, ray_python=sys.executable, ray_lost_after=10)
    with TestClient(create_app(s)) as c:
        yield c
