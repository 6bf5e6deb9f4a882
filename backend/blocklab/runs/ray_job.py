"""The entry point of a Ray job that trains one Blocklab run:

    python -m blocklab.runs.ray_job <payload>

<payload> is what `encode_payload` makes (base64 of compressed JSON: the graph, the training
config, the device, initial weights if any), or `@<path>` to a file holding it. The job
rebuilds the run's Plan, trains it with runs.worker.execute (the very code local runs use),
and prints every event to stdout as one line of the protocol that local worker processes
speak too (runs/protocol.py): started, the training loop's messages, progress, checkpoint
(the safetensors bytes as base64 `data`, or nothing when it wrote into a shared data dir)
and, last, end. SIGTERM (Ray's stop_job) stops training at the
next report; the weights so far are still printed.

A run with `num_workers` > 1 trains with Ray Train (runs/ray_train.py): this process becomes
a Ray driver, rank 0 sends its events here through a small actor, and they are printed the
same way.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import tempfile
import threading
import zlib
from pathlib import Path

from blocklab.runs.protocol import PREFIX, Printer, parse_line  # noqa: F401  (the shared protocol)


def encode_payload(payload: dict) -> str:
    return base64.urlsafe_b64encode(zlib.compress(json.dumps(payload).encode(), 6)).decode()


def decode_payload(text: str) -> dict:
    if text.startswith("@"):
        text = Path(text[1:]).read_text().strip()
    return json.loads(zlib.decompress(base64.urlsafe_b64decode(text.encode())))


def stdout_printer(out=None) -> Printer:
    """Protocol lines on stdout (Ray tails the job's log), one write + flush each."""
    out = out or sys.stdout

    def write(line: str) -> None:
        out.write(line)
        out.flush()

    return Printer(write)


def plan_from(payload: dict):
    from safetensors.torch import load as st_load

    from blocklab.graph.analyze import Limits
    from blocklab.graph.document import GraphDoc
    from blocklab.runs.plan import RunCreate, prepare

    body = RunCreate.model_validate(payload["config"] | {"graph": payload["graph"], "name": payload.get("name"),
                                                          "device": payload["device"]})
    doc = GraphDoc.model_validate(payload["graph"])
    plan = prepare(body, doc, Limits(max_nodes=10**9, max_params=10**15), Path(payload.get("data_dir") or "."))
    if payload.get("init"):
        plan.init = st_load(base64.b64decode(payload["init"]))
    return plan


def run(payload: dict, emit: Printer, stop: threading.Event) -> str:
    from blocklab.runs.plan import PlanError

    try:
        plan = plan_from(payload)
    except PlanError as e:
        emit("end", {"status": "failed", "error": f"{e.message}: " + "; ".join(x["message"] for x in e.errors),
                     "summary": {}})
        return "failed"
    except Exception as e:
        emit("end", {"status": "failed", "error": f"the Ray job could not rebuild the run: {type(e).__name__}: {e}"[:2000],
                     "summary": {}})
        return "failed"
    if plan.cfg.num_workers > 1:  # data-parallel: Ray Train's TorchTrainer, one DDP rank per worker
        from blocklab.runs import ray_train

        return ray_train.run(payload, plan, emit, stop)
    import torch

    torch.set_num_threads(max(1, int(payload.get("num_cpus", 1))))  # the CPUs Ray reserved for this job
    return train_and_report(payload, plan, emit, stop.is_set)


def train_and_report(payload: dict, plan, emit, should_stop, **execute_kw) -> str:
    """started, the training messages, progress, the checkpoints and end, through `emit`."""
    from blocklab.runs import worker

    shared = payload.get("shared_dir")  # the server's data dir, reachable here: write checkpoints there
    tmp = None if shared else tempfile.TemporaryDirectory(prefix="blocklab-")
    ckpt = Path(shared) if shared else Path(tmp.name)
    try:
        emit("started", {"device": plan.device, "node": os.uname().nodename})
        out = worker.execute(plan, should_stop, emit, ckpt,
                             checkpoint_interval=payload.get("checkpoint_interval", 30.0),
                             progress=lambda s: emit("progress", {"summary": s}), **execute_kw)
        for which in ("last", "best"):
            f = ckpt / f"{which}.safetensors"
            if f.is_file():
                emit("checkpoint", {"which": which} | ({} if shared else {"data": base64.b64encode(f.read_bytes()).decode()}))
        emit("end", {"status": out.status, "error": out.error, "summary": out.summary})
        return out.status
    finally:
        if tmp is not None:
            tmp.cleanup()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m blocklab.runs.ray_job <payload | @file>", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    status = run(decode_payload(argv[0]), stdout_printer(), stop)
    return 0 if status in ("completed", "stopped") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
