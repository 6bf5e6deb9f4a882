"""`blocklab tensorboard`: TensorBoard itself, serving a data dir's runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from live_server import free_port
from blocklab.runs.tensorboard import SUBDIR, TBWriter


def test_blocklab_tensorboard_serves_each_runs_scalars(tmp_path):
    for rid, loss in (("run_a", 0.5), ("run_b", 0.25)):
        tb = TBWriter(tmp_path / "runs" / rid / SUBDIR)
        tb.write("epoch", {"epoch": 1, "step": 10, "train_loss": loss, "val_loss": loss})
        tb.close()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "blocklab.cli", "tensorboard", "--data-dir", str(tmp_path),
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ)
    try:
        deadline = time.monotonic() + 60
        runs = None
        while time.monotonic() < deadline:
            try:
                runs = httpx.get(f"http://127.0.0.1:{port}/data/runs", timeout=5).json()
                if len(runs) == 2:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "tensorboard exited"
            time.sleep(0.3)
        assert sorted(runs) == [f"run_a/{SUBDIR}", f"run_b/{SUBDIR}"]
        r = httpx.get(f"http://127.0.0.1:{port}/data/plugin/scalars/scalars",
                      params={"run": f"run_b/{SUBDIR}", "tag": "epoch/val_loss"}, timeout=10)
        assert r.status_code == 200 and [row[1:] for row in r.json()] == [[10, 0.25]]
    finally:
        proc.terminate()
        proc.wait(10)
