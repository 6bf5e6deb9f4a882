"""One local run in a worker process of its own (the child side of runners/local.py).

Why a process: training then never shares the server's interpreter (viewers, statistics and
the event loop cost it no GIL), Stop can end a step that never returns (the process is
terminated after a short grace), a run's memory can be capped (RLIMIT_AS), a crash in native
code takes down only its own run, and torch's global generator (Dropout) is the run's own.

The server starts each worker warm (forked from a forkserver that has torch and blocklab
imported, then warmed up with a tiny Adam step), hands it one `Ticket` through a pipe, and
reads back the lines of the shared protocol (runs/protocol.py): started, the training loop's
messages, progress, end. A worker trains one run and exits; a fresh one takes its place.
"""

from __future__ import annotations

import ctypes
import logging
import os
import resource
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from blocklab.data import get_kind, load
from blocklab.graph.document import GraphDoc
from blocklab.runs import worker
from blocklab.runs.plan import Plan
from blocklab.runs.protocol import Printer
from blocklab.train.config import TrainConfig
from blocklab.train.losses import resolve

log = logging.getLogger("blocklab.runs")
# What the forkserver imports once, so that every worker forked from it starts warm.
PRELOAD = ["torch", "torch._dynamo", "sklearn.datasets", "blocklab.runs.runners.process"]  # fused Adam imports dynamo: ~2 s


@dataclass
class Ticket:
    """Everything a worker needs to train one run: plain, picklable values (the Plan holds
    registry records with functions, which are looked up again by name on the other side)."""

    run_id: str
    doc: GraphDoc
    cfg: str  # the TrainConfig as JSON (its option models are generated classes: not picklable)
    dataset: str
    dparams: str  # the dataset params as JSON
    out_shape: tuple[int, ...]
    device: str
    init: dict[str, torch.Tensor] | None
    name: str
    data_dir: str
    checkpoint_dir: str
    checkpoint_interval: float
    max_seconds: float  # 0: no limit
    memory_cap: int | None  # bytes of address space the run may add once its data is loaded
    source: str | None  # the plan's generated source: the worker does not analyse the design again

    @classmethod
    def of(cls, run_id: str, plan: Plan, data_dir: Path, checkpoint_dir: Path, checkpoint_interval: float,
           max_seconds: float, memory_cap: int | None) -> "Ticket":
        return cls(run_id, plan.doc, plan.cfg.model_dump_json(), plan.kind.name, plan.dparams.model_dump_json(),
                   tuple(plan.out_shape), plan.device, plan.init, plan.name, str(data_dir), str(checkpoint_dir),
                   checkpoint_interval, max_seconds, memory_cap, plan.source)

    def plan(self) -> Plan:
        kind = get_kind(self.dataset, Path(self.data_dir))
        params = kind.params.model_validate_json(self.dparams)
        cfg = TrainConfig.model_validate_json(self.cfg)
        return Plan(self.doc, cfg, kind, params, kind.info(params), resolve(cfg.loss), self.out_shape,
                    self.device, self.init, self.name, self.source)


def _die_with_parent() -> None:
    """SIGKILL this worker when its parent (the forkserver, which lives exactly as long as the
    server) goes away, so a killed server never leaves training orphans behind."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _keep_freed_memory() -> None:
    """A fresh process's glibc hands every block over 128 KiB back to the kernel when freed, so
    each step's activations and each epoch's shuffled copy of the data come back as new,
    zero-filled pages (page faults: ~7% of an MLP-784 step here). A long-lived process has
    raised that threshold by itself; a worker starts with it raised, as a hand-written
    training script would have it after its first steps."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 * 2**20)  # M_MMAP_THRESHOLD: glibc's largest
        libc.mallopt(-1, 256 * 2**20)  # M_TRIM_THRESHOLD: keep up to this much freed heap
    except (OSError, AttributeError):
        pass


def _warm_up() -> None:
    """One-time costs paid before the run arrives, so that a run's first steps are as fast as
    its last: fused Adam's first construction and step, the first autograd pass, and one tiny
    pass of the training loop itself (each op's first call, the statistics thread, evaluation)."""
    from blocklab.data.base import Data, Info
    from blocklab.train.loop import Job, train
    from blocklab.train.losses import LOSSES

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 4, generator=g), torch.randint(0, 2, (16,), generator=g)
    data = Data(Info("classification", (4,), (), 2), x, y, x, y)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    cfg = TrainConfig.model_validate({"dataset": {"name": "moons"}, "loss": "cross_entropy", "epochs": 1,
                                      "batch_size": 8, "device": "cpu", "stats_every": 1, "report_interval": 0.01,
                                      "optimizer": {"name": "adam"}})
    for _ in train(Job(model, data, LOSSES["cross_entropy"], cfg, torch.device("cpu"), (2,)), lambda: False):
        pass


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def cap_memory(extra: int) -> int:
    """Limit this process's address space to what it maps now plus `extra` bytes; the cap."""
    cap = _address_space() + extra
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    return cap


def _out_of_memory(error: str | None) -> bool:
    return bool(error) and any(s in error for s in ("can't allocate memory", "MemoryError", "std::bad_alloc",
                                                    "Cannot allocate memory", "out of memory"))


def main(conn, stop, threads: int) -> None:
    """The worker: warm up, wait for one Ticket (None: exit unused), train it, report, exit.
    `stop` is a shared flag the server sets to ask for a stop."""
    _die_with_parent()
    _keep_freed_memory()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on the server is the server's to handle
    torch.set_num_threads(max(1, threads))
    try:
        _warm_up()
    except Exception:
        log.debug("warm-up failed", exc_info=True)
    try:
        ticket = conn.recv()
    except (EOFError, OSError):
        return
    if ticket is None:
        return
    emit = Printer(lambda line: conn.send_bytes(line.encode()))
    try:
        plan = ticket.plan()
        emit("started", {"device": plan.device, "pid": os.getpid()})
        deadline = time.monotonic() + ticket.max_seconds if ticket.max_seconds > 0 else float("inf")
        should_stop = lambda: stop.value != 0 or time.monotonic() > deadline  # noqa: E731
        if ticket.memory_cap is not None and plan.device == "cpu":
            load(plan.kind, plan.dparams)  # the data counts before the cap (load caches it for execute)
            cap_memory(ticket.memory_cap)
        out = worker.execute(plan, should_stop, emit, Path(ticket.checkpoint_dir),
                             checkpoint_interval=ticket.checkpoint_interval,
                             progress=lambda s: emit("progress", {"summary": s}))
        status, error, summary = out.status, out.error, out.summary
    except Exception as e:
        status, error, summary = "failed", f"{type(e).__name__}: {e}"[:2000], {}
    if status == "failed" and ticket.memory_cap is not None and _out_of_memory(error):
        error = (f"the run needed more memory than its worker may use ({ticket.memory_cap / 2**20:,.0f} MiB beyond "
                 f"its data, from the design's estimate; BLOCKLAB_MAX_TRAIN_BYTES): {error}")[:2000]
    try:
        emit("end", {"status": status, "error": error, "summary": summary})
    except (BrokenPipeError, OSError):
        pass  # the server is gone
