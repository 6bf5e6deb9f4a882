"""Execute one run: build its data and model from a Plan, train, report, checkpoint.

This is the whole of "training a run", shared by every runner (the server's local worker
threads, a Ray job, the `blocklab train` CLI). It knows nothing of the stream hub, the
database or HTTP: it calls `emit(kind, event)` for each message of the training loop and
writes `last`/`best` checkpoints (safetensors, atomically) into `checkpoint_dir`.

    from blocklab.runs.worker import execute
    outcome = execute(plan, should_stop=lambda: False,
                      emit=lambda kind, ev: print(kind, ev),
                      checkpoint_dir=Path("out"))
    outcome.status   # "completed", "stopped" or "failed"
    outcome.error    # the message of a failed run, else None
    outcome.summary  # {"steps", "epoch", "train_loss", "val_loss", "best_val_loss", ...}
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from blocklab.custom import cancel
from blocklab.data import load
from blocklab.graph.analyze import analyze
from blocklab.graph.build import model_class
from blocklab.graph.codegen import generate
from blocklab.runs import checkpoints
from blocklab.runs.plan import Plan
from blocklab.train.loop import Diverged, Job, train

log = logging.getLogger("blocklab.runs")
# Seeding and building use torch's global generator: one build at a time per process, so the
# same seed gives the same initial weights even where runs share a process (the CLI, tests).
# Local runs each have a worker process, and so a generator (Dropout's too), of their own.
BUILD_LOCK = threading.Lock()

Emit = Callable[[str, dict], None]


@dataclass
class Outcome:
    status: str  # "completed" | "stopped" | "failed"
    error: str | None
    summary: dict


def build(plan: Plan) -> torch.nn.Module:
    """The run's model, seeded from its config (and loaded from its initial weights), on CPU."""
    source = plan.source or generate(analyze(plan.doc), plan.doc.name)
    with BUILD_LOCK:
        torch.manual_seed(plan.cfg.seed)  # before building: the same seed gives the same init
        model = model_class(source)()
    if plan.init is not None:
        model.load_state_dict(plan.init, strict=True)
    return model


def execute(plan: Plan, should_stop: Callable[[], bool], emit: Emit, checkpoint_dir: Path | None, *,
            checkpoint_interval: float = 30.0, progress: Callable[[dict], None] | None = None,
            shard: tuple[int, int] | None = None, wrap_model: Callable | None = None) -> Outcome:
    """Train `plan` to the end (or until `should_stop()` is true) and return how it ended.

    emit(kind, event): every message of the training loop ("step", "epoch", "stats", ...),
        the event without its "type" key. Called on this thread.
    checkpoint_dir: where `last.safetensors` and `best.safetensors` (lowest val_loss) go;
        written every `checkpoint_interval` seconds at epoch ends and once at the end, even
        after a stop or a failure. None writes nothing.
    progress(summary): called after each epoch with the summary so far.
    shard, wrap_model: data-parallel training (see train.loop); checkpoints hold the plain
        model's state_dict (no DDP `module.` prefix).
    Never raises for a failure of the run itself: that is Outcome("failed", message, ...).
    """
    cfg = plan.cfg
    summary: dict = {"steps": 0, "epoch": 0}
    model = None
    best: dict | None = None
    best_dirty = False
    status, error = "completed", None

    def write(which: str, tensors: dict) -> None:
        if checkpoint_dir is not None:
            checkpoints.write(Path(checkpoint_dir) / f"{which}.safetensors", tensors)

    cancel.set_check(should_stop)  # CustomLayer loops on this thread ask it: Stop reaches inside a step
    try:
        device = torch.device(plan.device)
        data = load(plan.kind, plan.dparams).to(device)
        model = build(plan).to(device)
        job = Job(model, data, plan.loss, cfg, device, plan.out_shape, shard, wrap_model)
        t0, c0 = time.perf_counter(), time.thread_time()
        last_write = time.monotonic()
        for ev in train(job, should_stop):
            kind = ev.pop("type")
            emit(kind, ev)
            if kind == "step":
                summary.update(steps=ev["step"], epoch=ev["epoch"], train_loss=ev["loss"])
            elif kind == "epoch":
                summary.update({k: ev[k] for k in ("epoch", "train_loss", "val_loss", "val_accuracy") if k in ev})
                v = ev.get("val_loss")
                if v is not None and math.isfinite(v) and v < summary.get("best_val_loss", math.inf):
                    summary.update(best_val_loss=v, best_epoch=ev["epoch"])
                    best, best_dirty = checkpoints.snapshot(model), True
                if progress is not None:
                    progress(dict(summary))
                if time.monotonic() - last_write > checkpoint_interval:
                    write("last", checkpoints.snapshot(model))
                    if best_dirty:
                        write("best", best)
                        best_dirty = False
                    last_write = time.monotonic()
        summary["train_time_s"] = time.perf_counter() - t0
        summary["train_cpu_s"] = time.thread_time() - c0  # this thread's CPU: steadier on a busy machine
        if should_stop():
            status = "stopped"
    except Diverged as e:
        status, error = "failed", str(e)
    except Exception as e:  # a run's failure is its own: report it, keep the caller going
        if should_stop():  # a step cut short by a stop request (cancel.Cancelled from a CustomLayer loop)
            status = "stopped"
        else:
            log.exception("run failed")
            status, error = "failed", f"{type(e).__name__}: {e}"[:2000]
    cancel.set_check(None)
    try:
        if model is not None:
            write("last", checkpoints.snapshot(model))
        if best is not None and best_dirty:
            write("best", best)
    except Exception as e:
        log.exception("writing checkpoints failed")
        error = error or f"writing checkpoints failed: {e}"
    return Outcome(status, error, summary)
