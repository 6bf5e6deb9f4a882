"""The training loop: a plain generator of event dicts. It knows nothing of threads,
sockets or the database; whoever iterates it decides what to do with the events.

Hot path per step: slice a batch from tensors already on the device (one shuffle-gather per
epoch, then contiguous views), forward, loss, zero_grad(set_to_none), backward, step. The
loss stays on the device: detached loss tensors are collected and read back together only
when a step message is due (by time), which is also where NaN/Inf is detected, exactly:
the first non-finite entry names the step.

Data-parallel training (Job.shard = (rank, world), Job.wrap_model = DDP): every rank draws the
same permutation each epoch, pads it (repeating its first samples) to a multiple of `world`
and takes every world-th sample from `rank`, so all ranks run the same number of steps and
batch_size is per rank (the global batch is batch_size x world). Only the training forward
goes through the wrapped model; evaluation, probes and statistics use the plain model (the
same parameters), so they start no collectives. `should_stop` is then a collective: it is
called at step multiples of SYNC_EVERY and at epoch ends, the same steps on every rank, and
never at the (clock-timed) step messages.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
from torch import nn

from blocklab.data.base import Data
from blocklab.train.config import TrainConfig
from blocklab.train.grid import DecisionGrid
from blocklab.train.losses import Loss
from blocklab.train.metrics import for_task
from blocklab.train.optimizers import lr_at, make_optimizer, set_lr
from blocklab.train.snapshot import Snapshots

VAL_CHUNK = 4096
PROBE_BATCH = 64  # activation statistics on 64 samples: one small forward per snapshot
SYNC_EVERY = 16  # data-parallel: steps between (collective) stop checks


def _backward() -> Callable[[torch.Tensor, torch.Tensor], None]:
    """loss.backward(one), minus its Python wrapper: with d loss/d loss given (no ones_like per
    step) and straight into the autograd engine, as torch.autograd.backward itself calls it.
    That wrapper is ~10 us of a small model's ~60 us step. Falls back to the public call."""
    run = getattr(torch.autograd.graph, "_engine_run_backward", None)
    if run is None:
        return lambda l, one: l.backward(one)
    return lambda l, one: run((l,), (one,), False, False, (), allow_unreachable=True, accumulate_grad=True)


backward = _backward()


class Diverged(Exception):
    def __init__(self, step: int):
        super().__init__(f"loss became NaN at step {step}")
        self.step = step


@dataclass
class Job:
    model: nn.Module
    data: Data  # already on `device`
    loss: Loss
    cfg: TrainConfig
    device: torch.device
    out_shape: tuple[int, ...]
    shard: tuple[int, int] | None = None  # (rank, world) for data-parallel training
    wrap_model: Callable[[nn.Module], nn.Module] | None = None  # e.g. ray.train.torch.prepare_model (DDP)


def evaluate(model: nn.Module, loss: Loss, x: torch.Tensor, y: torch.Tensor, labels: torch.Tensor | None) -> dict:
    """The mean of each validation metric of the loss's task (train/metrics.py), eval mode, no grad."""
    metrics = for_task(loss.task)
    if len(x) == 0:
        return {m.key: None for m in metrics if m.task is None}  # as before: no per-task metric on no data
    was = model.training
    model.eval()
    sums = torch.zeros(len(metrics), device=x.device)
    try:
        with torch.no_grad():
            for i in range(0, len(x), VAL_CHUNK):
                out = model(x[i:i + VAL_CHUNK])
                yb, lb = y[i:i + VAL_CHUNK], None if labels is None else labels[i:i + VAL_CHUNK]
                sums += torch.stack([m.batch(out, yb, lb, loss) for m in metrics])
    finally:
        model.train(was)
    return {m.key: v / len(x) for m, v in zip(metrics, sums.tolist())}  # one host read


def _next(due: float, interval: float, now: float) -> float:
    """The next due time at a fixed rate (not "interval after the last one", which drifts
    below the rate); a loop more than an interval behind starts afresh from now."""
    nxt = due + interval
    return nxt if nxt > now else now + interval


def train(job: Job, should_stop: Callable[[], bool], clock: Callable[[], float] = time.perf_counter) -> Iterator[dict]:
    model, d, cfg, loss = job.model, job.data, job.cfg, job.loss
    classify = d.info.task == "classification"
    x, y = d.x_train, loss.prepare(d.y_train, d.info, job.out_shape)
    xv, yv = d.x_val, loss.prepare(d.y_val, d.info, job.out_shape)
    labels_v = d.y_val if classify else None
    n, bs, fn = len(x), cfg.batch_size, loss.fn
    rank, world = job.shard or (0, 1)
    per = -(-n // world) if world > 1 else n  # samples per rank and epoch
    steps_per_epoch = -(-per // bs)  # the last batch may be short; progress bars need the count
    net = job.wrap_model(model) if job.wrap_model is not None else model  # trains; `model` for the rest
    if cfg.compile:  # the compiled module shares the parameters; evaluation and probes use `model`
        net = torch.compile(net)
    # bf16 autocast for the training forward and loss (weights, grads and optimizer stay fp32)
    autocast = (lambda: torch.autocast(job.device.type, dtype=torch.bfloat16)) if cfg.amp == "bf16" else nullcontext

    gen = torch.Generator(device=job.device)  # shuffling has its own generator: runs in parallel stay repeatable
    gen.manual_seed(cfg.seed)
    opt = make_optimizer(model.parameters(), cfg.optimizer, job.device)
    snaps = Snapshots(model, x[:PROBE_BATCH])  # statistics, computed off this thread
    grid = DecisionGrid(x, cfg.grid_size) if classify and d.info.input_shape == (2,) and loss.proba else None

    try:
        # Once, first: what a progress bar needs (the step messages stay as the contract has them).
        yield {"type": "start", "epochs": cfg.epochs, "steps_per_epoch": steps_per_epoch, "batch_size": bs,
               "n_train": n, "n_val": len(xv), **({"num_workers": world} if world > 1 else {})}
        if cfg.epochs == 0:
            yield {"type": "epoch", "epoch": 0, "step": 0, "train_loss": None, **evaluate(model, loss, xv, yv, labels_v)}
            return

        step = 0
        one: torch.Tensor | None = None
        pending: list[torch.Tensor] = []
        window_start = 0  # step before the first loss in `pending`
        folded: list[torch.Tensor] = []  # sums of 1024 step losses each, this epoch
        tail: list[torch.Tensor] = []  # step losses after those
        k = cfg.stats_every
        now = clock()
        t_report, t_stats, t_grid = now, now + (0 if k is None else float("inf")), now

        def flush(epoch: int) -> dict:
            # One host read for the whole window: NaN/Inf check (exact step) and the last loss.
            nonlocal pending, window_start
            vals = torch.stack(pending)
            last, ok = torch.stack([vals[-1].float(), torch.isfinite(vals).all().float()]).tolist()
            if not ok:
                bad = int((~torch.isfinite(vals)).nonzero()[0, 0])
                raise Diverged(window_start + bad + 1)
            tail.extend(pending)
            while len(tail) >= 1024:  # partial sums over fixed runs of steps: same seed, same sum
                folded.append(torch.stack(tail[:1024]).float().sum())
                del tail[:1024]
            pending, window_start = [], step
            return {"type": "step", "step": step, "epoch": epoch, "loss": last}

        for epoch in range(1, cfg.epochs + 1):
            set_lr(opt, lr_at(cfg.schedule, cfg.optimizer.lr, epoch - 1, cfg.epochs))
            net.train()
            perm = torch.randperm(n, generator=gen, device=job.device)
            if world > 1 and n:
                perm = perm.repeat(-(-per * world // n))[:per * world][rank::world]
            xs, ys = x[perm], y[perm]  # one gather per epoch; batches below are views
            folded.clear()
            tail.clear()
            epoch_start = step
            stopped = False
            for i in range(0, per, bs):
                with autocast():
                    out = net(xs[i:i + bs])
                    l = fn(out, ys[i:i + bs])
                opt.zero_grad(set_to_none=True)
                if one is None or one.dtype != l.dtype:
                    one = torch.ones((), dtype=l.dtype, device=l.device)
                backward(l, one)
                step += 1
                pending.append(l.detach())
                now = clock()
                if (now >= t_stats) if k is None else (step % k == 0):
                    snaps.before()
                    opt.step()
                    snaps.after(step)
                    now = clock()
                    t_stats = _next(t_stats, cfg.stats_interval, now)
                else:
                    opt.step()
                if now >= t_report:
                    yield flush(epoch)
                    yield from snaps.ready()
                    t_report = _next(t_report, cfg.report_interval, now)
                    if grid is not None and now >= t_grid:
                        yield {"type": "grid", "step": step, **grid.run(model, loss)}
                        t_grid = clock() + cfg.grid_interval
                    if world == 1 and should_stop():
                        stopped = True
                        break
                if world > 1 and step % SYNC_EVERY == 0 and should_stop():
                    stopped = True
                    break
            if pending:
                yield flush(epoch)
            yield from snaps.drain()
            if stopped:
                return
            epoch_sum = torch.stack([*folded, torch.stack(tail).float().sum()]).sum()
            if world > 1:  # the mean over all ranks' batches (epoch ends are the same step on every rank)
                import torch.distributed as dist

                dist.all_reduce(epoch_sum)
                epoch_sum = epoch_sum / world
            yield {
                "type": "epoch", "epoch": epoch, "step": step, "lr": opt.param_groups[0]["lr"],
                "train_loss": epoch_sum.item() / max(1, step - epoch_start),
                **evaluate(model, loss, xv, yv, labels_v),
            }
            if should_stop():
                return
        if grid is not None:
            yield {"type": "grid", "step": step, **grid.run(model, loss)}
    finally:
        snaps.close()  # the statistics thread ends with the run, also when it is stopped
