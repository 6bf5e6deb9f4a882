"""Benchmark 4 of bench/training.py: a run watched by N websocket viewers through a real
server, the viewers in another process (as browsers would be), against the same run unwatched."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from blocklab.settings import Settings


def times(run: dict) -> tuple[float, float]:
    return run["metrics"]["train_time_s"], run["metrics"]["train_cpu_s"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


VIEWERS = """
import asyncio, json, os, sys
import websockets
os.nice(19)  # stand-ins for browsers on other machines: this box's cores are the server's first
port, n = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
rid = sys.stdin.readline().strip()
async def view():
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/runs/{rid}/stream", max_size=None) as ws:
        return sum([1 async for _ in ws])
async def main():
    return await asyncio.gather(*(view() for _ in range(n)))
print(json.dumps(asyncio.run(main())))
"""


class Server:
    def __init__(self, threads: int):
        import uvicorn

        from blocklab.app import create_app

        self.dir = Path(tempfile.mkdtemp(prefix="blocklab-bench-ws-"))
        app = create_app(Settings(data_dir=self.dir, max_concurrent_runs=1, torch_threads=threads,
                                  checkpoint_interval=3600))
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, port=self.port, log_level="warning", ws="websockets-sansio"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def run(self, body: dict, viewers: int) -> float:
        import httpx

        base = f"http://127.0.0.1:{self.port}/api"
        # The viewers live in another process, as browsers would (their parsing is not the
        # server's work), started and ready before the run is created.
        proc = None
        if viewers:
            proc = subprocess.Popen([sys.executable, "-c", VIEWERS, str(self.port), str(viewers)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert proc.stdout.readline().strip() == "ready"
        rid = httpx.post(f"{base}/runs", json=body).json()["id"]
        if proc is not None:
            proc.stdin.write(rid + "\n")
            proc.stdin.flush()
        while httpx.get(f"{base}/runs/{rid}").json()["status"] in ("queued", "running"):
            time.sleep(0.02)
        if proc is not None:
            counts = json.loads(proc.communicate(timeout=60)[0].strip().splitlines()[-1])
            assert len(counts) == viewers and min(counts) > 0, counts
        run = httpx.get(f"{base}/runs/{rid}").json()
        assert run["status"] == "completed", run
        return times(run)

    def close(self):
        self.server.should_exit = True
        self.thread.join(10)


