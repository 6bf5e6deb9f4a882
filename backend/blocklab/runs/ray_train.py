"""A run with num_workers > 1: data-parallel training with Ray Train's TorchTrainer.

The Ray job's entry point (runs/ray_job.py) becomes a Ray driver and starts a TorchTrainer
with one worker per rank (1 GPU each on CUDA, else 1 CPU; CPU clusters use gloo). Every rank
runs the same runs.worker.execute as a single-worker run, with the model wrapped in DDP
(ray.train.torch.prepare_model) and each rank taking its slice of every epoch's permutation
(train.loop: batch_size is per worker, the global batch is batch_size x num_workers).

Only rank 0 reports: its events (and, at the end, its checkpoints, which hold the plain
model's state_dict, without DDP's `module.` prefix) go through a small Relay actor to the
driver, which prints them as the usual seq-numbered lines. `ray.train.report` is never
called (it would be a barrier across ranks). A stop (SIGTERM on the driver) reaches rank 0
through the Relay; the ranks agree on it with an all_reduce at fixed steps (train.loop).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time

GRACE_S = 30.0  # after rank 0's end: how long the other ranks may take before the driver exits anyway


class Relay:
    """Rank 0's events for the driver, and the driver's stop for rank 0 (a Ray actor)."""

    def __init__(self):
        self.items: list[tuple[str, dict]] = []
        self.stop = False

    def put(self, kind: str, event: dict) -> None:
        self.items.append((kind, event))

    def take(self) -> list[tuple[str, dict]]:
        out, self.items = self.items, []
        return out

    def set_stop(self) -> None:
        self.stop = True

    def stopping(self) -> bool:
        return self.stop


class AgreedStop:
    """should_stop for a rank: true on every rank at the same call once rank 0 was asked to stop
    (a collective: the loop calls it at the same steps on every rank)."""

    def __init__(self, rank: int, relay, device):
        self.asked, self.agreed, self.device, self.done = threading.Event(), False, device, threading.Event()
        if rank == 0:
            threading.Thread(target=self._poll, args=(relay,), daemon=True, name="blocklab-stop-poll").start()

    def _poll(self, relay) -> None:
        import ray

        while not self.done.is_set() and not self.asked.is_set():
            try:
                if ray.get(relay.stopping.remote(), timeout=10):
                    self.asked.set()
            except Exception:
                pass
            self.done.wait(0.2)

    def __call__(self) -> bool:
        if not self.agreed:
            import torch
            import torch.distributed as dist

            flag = torch.tensor([float(self.asked.is_set())], device=self.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            self.agreed = bool(flag.item())
        return self.agreed


def train_worker(config: dict) -> None:
    """One rank (runs in a Ray Train worker)."""
    import ray
    import ray.train
    import ray.train.torch
    import torch

    from blocklab.runs import ray_job, worker

    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    payload, relay = config["payload"], config["relay"]
    plan = ray_job.plan_from(payload)
    torch.set_num_threads(1)
    device = torch.device("cpu")
    if plan.device == "cuda":
        device = ray.train.torch.get_device()
        torch.cuda.set_device(device)
    stop = AgreedStop(rank, relay, device)
    kw = {"shard": (rank, world), "wrap_model": ray.train.torch.prepare_model}
    try:
        if rank == 0:
            def emit(kind: str, event: dict) -> None:
                ref = relay.put.remote(kind, event)
                if kind == "end":
                    ray.get(ref)  # actor calls run in order: everything before it has arrived too

            ray_job.train_and_report(payload, plan, emit, stop, **kw)
        else:
            out = worker.execute(plan, stop, lambda kind, event: None, None, **kw)
            if out.status == "failed":
                raise RuntimeError(f"rank {rank}: {out.error}")
    finally:
        stop.done.set()


def run(payload: dict, plan, emit, stop: threading.Event) -> str:
    """The driver: start the trainer, print rank 0's events, end with its result."""
    import ray
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    ray.init()  # the cluster this job runs on (RAY_ADDRESS is set by the Jobs API)
    relay = ray.remote(num_cpus=0)(Relay).remote()
    n = plan.cfg.num_workers
    storage = tempfile.mkdtemp(prefix="blocklab-train-")  # Ray Train's run dir; nothing is reported into it
    trainer = TorchTrainer(
        train_worker, train_loop_config={"payload": payload, "relay": relay},
        scaling_config=ScalingConfig(num_workers=n, use_gpu=plan.device == "cuda"),
        run_config=RunConfig(name=f"blocklab-{payload.get('run_id', 'run')}", storage_path=storage,
                             failure_config=FailureConfig(max_failures=0)))
    fit_done = threading.Event()
    box: dict = {}

    def relay_events() -> None:
        end, asked = None, False
        while True:
            if stop.is_set() and not asked:
                relay.set_stop.remote()
                asked = True
            finished = fit_done.is_set()
            for kind, event in ray.get(relay.take.remote()):
                if kind == "end":
                    end = event
                else:
                    emit(kind, event)
            if end is not None:
                box["end"] = end
                if not fit_done.wait(GRACE_S):  # another rank hangs (e.g. in a collective): end anyway
                    emit("end", end)
                    os._exit(0 if end.get("status") in ("completed", "stopped") else 1)
                return
            if finished:
                return
            time.sleep(0.05)

    t = threading.Thread(target=relay_events, daemon=True, name="blocklab-relay")
    t.start()
    try:
        trainer.fit()
    except Exception as e:
        box["error"] = f"Ray Train failed: {type(e).__name__}: {e}"[:2000]
    finally:
        fit_done.set()
    t.join()
    end = box.get("end") or {"status": "stopped" if stop.is_set() and "error" not in box else "failed",
                             "error": box.get("error", "Ray Train ended without a result from rank 0"), "summary": {}}
    if end["status"] == "stopped" and "end" not in box:
        end["error"] = None
    emit("end", end)
    return end["status"]
