"""Load on loopback: 20 queued runs, 100 websocket viewers and REST polling on a real server.

The concurrency cap holds, every run completes with a gapless stream, nothing is lost, and
the database never reports "database is locked". Prints the p99 REST latency (not asserted:
these machines are noisy).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time

import httpx
import websockets

from blocklab.settings import Settings
from graphs import chain
from live_server import live_server

RUNS, VIEWERS_PER_RUN, CAP = 20, 5, 2


def test_twenty_runs_hundred_viewers_and_polling(tmp_path, capsys):
    settings = Settings(data_dir=tmp_path, max_concurrent_runs=CAP, max_queued_runs=64)
    design = chain([2], ("h", "Linear", {"out_features": 16}), ("a", "ReLU"), ("o", "Linear", {"out_features": 2}))
    body = {"graph": design, "dataset": {"name": "moons", "params": {"n": 400}}, "loss": "cross_entropy",
            "optimizer": {"name": "adam", "lr": 0.01}, "epochs": 4, "batch_size": 16, "seed": 1,
            "stats_interval": 0.05}
    with live_server(settings) as url, httpx.Client(base_url=url + "/api", timeout=60) as http:
        ids = []
        for _ in range(RUNS):
            r = http.post("/runs", json=body)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])

        latencies: list[float] = []
        max_running = 0
        done = threading.Event()

        def poll():  # REST polling alongside, as the run-history page does
            nonlocal max_running
            with httpx.Client(base_url=url + "/api", timeout=60) as c:
                while not done.is_set():
                    t = time.perf_counter()
                    runs = c.get("/runs").json()
                    latencies.append(time.perf_counter() - t)
                    max_running = max(max_running, sum(r["status"] == "running" for r in runs))
                    t = time.perf_counter()
                    c.get(f"/runs/{ids[len(latencies) % RUNS]}")
                    latencies.append(time.perf_counter() - t)

        poller = threading.Thread(target=poll)
        poller.start()

        async def view(run_id: str) -> list[dict]:
            async with websockets.connect(f"{url.replace('http', 'ws')}/api/runs/{run_id}/stream?after=0",
                                          max_size=None) as ws:
                return [json.loads(m) async for m in ws]

        async def all_viewers():
            return await asyncio.gather(*(view(i) for i in ids for _ in range(VIEWERS_PER_RUN)))

        streams = asyncio.run(asyncio.wait_for(all_viewers(), timeout=600))
        done.set()
        poller.join()

        assert max_running <= CAP
        for run_id, msgs in zip([i for i in ids for _ in range(VIEWERS_PER_RUN)], streams):
            seqs = [m["seq"] for m in msgs]
            assert seqs[0] == 1 and seqs == list(range(1, len(seqs) + 1)), f"gap in {run_id}'s stream"
            assert msgs[-1]["type"] == "status" and msgs[-1]["status"] == "completed", msgs[-1]
        for run_id in ids:
            info = http.get(f"/runs/{run_id}").json()
            assert info["status"] == "completed", info
            stored = http.get(f"/runs/{run_id}/metrics").json()
            assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
            assert sum(m["type"] == "epoch" for m in stored) == 4
            assert "database is locked" not in json.dumps(info)

    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    with capsys.disabled():
        print(f"\nload: {RUNS} runs (cap {CAP}), {RUNS * VIEWERS_PER_RUN} viewers, {len(latencies)} REST calls; "
              f"REST latency p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99:.1f} ms")
