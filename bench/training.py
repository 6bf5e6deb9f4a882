"""Training benchmarks, measured side by side in one process (not timed tests).

    .venv/bin/python bench/training.py [--reps 5] [--threads 1] [--quick]

--quick runs each comparison once at tiny sizes (CI runs it so the benchmark cannot rot; its
numbers mean nothing).

Prints, for each comparison, the median time of each side over rounds that alternate which
side goes first, and the median of the per-round ratios with their interquartile range
(bench/pairs.py):
1. D2L linear regression (3.5), whole run: Blocklab's trainer vs D2L's own
   TensorDataset + DataLoader loop written by hand (target: >= 2.5x faster).
2. MLP 784-256-10 at batch 256 and 20-256-10 at batch 64 (4x the repetitions): training time through the run
   manager (a worker process per run) vs a hand-written loop over the same tensors run as a
   script, in a fresh process as each worker is (target: >= 0.98x the throughput); the same
   loop warmed up in this process is printed beside it.
3. The same MLPs with statistics streaming at 5-7 snapshots/s vs without, in runs of 2-3 s
   (target: <= 2%).
4. A run with 50 websocket viewers attached vs none, through a real server (target: <= 5%).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))

from blocklab.data import BUILTIN, load  # noqa: E402
from blocklab.graph.analyze import Limits  # noqa: E402
from blocklab.graph.document import GraphDoc  # noqa: E402
from blocklab.runs import store  # noqa: E402
from blocklab.runs.manager import RunManager  # noqa: E402
from blocklab.runs.plan import RunCreate, prepare  # noqa: E402
from blocklab.settings import Settings  # noqa: E402
from blocklab.store.db import create_engine  # noqa: E402
from blocklab.train.config import TrainConfig  # noqa: E402
from blocklab.train.losses import LOSSES  # noqa: E402
from blocklab.train.loop import Job, train  # noqa: E402
import pairs  # noqa: E402  (side by side: alternating rounds, per-round ratios)
from pairs import rounds  # noqa: E402
from viewers import Server  # noqa: E402  (4. websocket viewers through a real server)

TEMPLATE = json.loads((ROOT / "backend/blocklab/templates/linear_regression.json").read_text())


def times(run: dict) -> tuple[float, float]:
    return run["metrics"]["train_time_s"], run["metrics"]["train_cpu_s"]


# ---------------------------------------------------------------- 1. D2L linear regression
def d2l_by_hand() -> float:
    """D2L 3.5 (concise linear regression), as the book writes it."""
    t = time.perf_counter()
    true_w, true_b = torch.tensor([2, -3.4]), 4.2
    X = torch.normal(0, 1, (1000, 2))
    y = (X @ true_w + true_b + torch.normal(0, 0.01, (1000,))).reshape(-1, 1)
    Xv = torch.normal(0, 1, (1000, 2))
    yv = (Xv @ true_w + true_b + torch.normal(0, 0.01, (1000,))).reshape(-1, 1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=10, shuffle=True)
    net = nn.Sequential(nn.Linear(2, 1))
    net[0].weight.data.normal_(0, 0.01)
    net[0].bias.data.fill_(0)
    loss = nn.MSELoss()
    trainer = torch.optim.SGD(net.parameters(), lr=0.03)
    for epoch in range(3):
        for xb, yb in loader:
            l = loss(net(xb), yb)
            trainer.zero_grad()
            l.backward()
            trainer.step()
        with torch.no_grad():
            _ = loss(net(Xv), yv).item()
    return time.perf_counter() - t


def d2l_blocklab() -> float:
    """The same run through Blocklab's trainer: data, build, train, validate each epoch."""
    from blocklab.graph.build import build

    t = time.perf_counter()
    cfg = TrainConfig.model_validate(TEMPLATE["train"] | {"device": "cpu"})
    kind = BUILTIN["synthetic_regression"]
    data = kind.make(kind.params.model_validate(cfg.dataset.params))  # generated afresh, not cached
    torch.manual_seed(cfg.seed)
    model = build(GraphDoc.model_validate(TEMPLATE["graph"]))
    for _ in train(Job(model, data, LOSSES["mse"], cfg, torch.device("cpu"), (1,)), lambda: False):
        pass
    return time.perf_counter() - t


# ---------------------------------------------------------------- 2-3. MLP throughput
def mlp_graph(d_in: int) -> dict:
    return {"version": 1, "name": "mlp", "nodes": [
        {"id": "X", "type": "Input", "params": {"shape": [d_in]}},
        {"id": "hidden", "type": "Linear", "params": {"out_features": 256}}, {"id": "act", "type": "ReLU"},
        {"id": "out", "type": "Linear", "params": {"out_features": 10}}, {"id": "Y", "type": "Output"}],
        "edges": [{"source": a, "target": b} for a, b in [("X", "hidden"), ("hidden", "act"), ("act", "out"), ("out", "Y")]]}


def mlp_body(d_in: int, bs: int, n: int, epochs: int, **kw) -> dict:
    return {"graph": mlp_graph(d_in), "dataset": {"name": "blobs", "params": {"n": n, "n_val": 1024, "n_features": d_in,
            "centers": 10}}, "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 1e-3}, "epochs": epochs,
            "batch_size": bs, "seed": 0, "device": "cpu"} | kw


class Manager:
    def __init__(self, threads: int):
        self.dir = Path(tempfile.mkdtemp(prefix="blocklab-bench-"))
        self.settings = Settings(data_dir=self.dir, max_concurrent_runs=1, torch_threads=threads,
                                 checkpoint_interval=3600)
        self.engine = create_engine(self.settings.db_url)
        self.m = RunManager(self.settings, self.engine)
        self.m.start()

    def run(self, body: dict) -> dict:
        b = RunCreate.model_validate(body)
        rid = self.m.submit(prepare(b, b.graph, Limits(), self.dir))
        while self.m.status_of(rid) is not None:  # the runner forgets it once its end is stored; poll rarely
            time.sleep(0.1)
        run = store.get(self.engine, rid)
        assert run["status"] == "completed", run
        return run


HAND_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import torch
torch.set_num_threads(int(sys.argv[2]))
from training import hand_mlp
print(json.dumps(hand_mlp(json.loads(sys.stdin.read()))))
"""


def hand_script(body: dict) -> tuple[float, float]:
    """The hand loop as a user runs it: a fresh Python process, as each run's worker is (its
    first steps pay the allocator's and oneDNN's warm-up just the same); timed inside it."""
    out = subprocess.run([sys.executable, "-c", HAND_SCRIPT, str(ROOT / "bench"), str(torch.get_num_threads())],
                         input=json.dumps(body), capture_output=True, text=True, check=True)
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def hand_mlp(body: dict) -> float:
    """An idiomatic hand loop over the same tensors: slices, fused Adam, validation per epoch."""
    kind = BUILTIN["blobs"]
    d = load(kind, kind.params.model_validate(body["dataset"]["params"]))
    torch.manual_seed(0)
    d_in = body["dataset"]["params"]["n_features"]
    net = nn.Sequential(nn.Linear(d_in, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    x, y, bs = d.x_train, d.y_train, body["batch_size"]
    g = torch.Generator().manual_seed(0)
    t, c = time.perf_counter(), time.thread_time()
    for _ in range(body["epochs"]):
        perm = torch.randperm(len(x), generator=g)
        xs, ys = x[perm], y[perm]
        net.train()
        for i in range(0, len(x), bs):
            loss = nn.functional.cross_entropy(net(xs[i:i + bs]), ys[i:i + bs])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            _ = nn.functional.cross_entropy(net(d.x_val), d.y_val).item()
    return time.perf_counter() - t, time.thread_time() - c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads for every side")
    ap.add_argument("--best", action="store_true", help="compare the fastest repetitions instead of the medians")
    ap.add_argument("--quick", action="store_true", help="once, tiny sizes: checks the benchmark runs")
    args = ap.parse_args()
    if args.quick:
        args.reps = 1
    # (inputs, batch, samples, epochs) of the MLP runs, of the statistics runs (2-3 s each: a
    # snapshot at step 1 and the process-to-process noise weigh little); the viewers' run (~1.7 s:
    # the 50 viewers connect and replay as it starts, a one-off that a 0.6 s run weighs 3x as much)
    mlps = [(784, 256, 512, 1), (20, 64, 512, 1)] if args.quick else [(784, 256, 10240, 4), (20, 64, 32768, 3)]
    stats_runs = mlps if args.quick else [(784, 256, 32768, 6), (20, 64, 32768, 12)]
    viewers_run = (20, 64, 512, 1) if args.quick else (20, 64, 32768, 9)
    n_viewers = 3 if args.quick else 50
    pairs.BEST = args.best
    torch.set_num_threads(args.threads)
    # Whole runs, each in a process of its own, vary by +-4% from one process to the next (as
    # much as the differences measured): 4x the rounds, so the medians' error is ~0.5%. The
    # D2L runs take 20-50 ms: 12x the rounds.
    run_reps = 4 * args.reps + 1 if not args.quick else 1
    d2l_reps = 12 * args.reps if not args.quick else 1
    print(f"torch {torch.__version__}, {args.threads} thread(s); {'ratios of the fastest rounds' if args.best else 'medians of per-round ratios'} "
          f"over rounds of the two sides in alternating order: {d2l_reps} rounds in 1, {run_reps} in 2, 3 and 4; "
          f"IQR: the per-round ratios' interquartile range\n")

    r = rounds(d2l_by_hand, d2l_blocklab, d2l_reps)
    print(f"1. D2L linear regression, whole run: DataLoader loop {r.median('a') * 1e3:.1f} ms, Blocklab trainer "
          f"{r.median('b') * 1e3:.1f} ms -> {r.times()} faster (target >= 2.5x)")

    mgr = Manager(args.threads)
    for d_in, bs, n, epochs in mlps:
        body = mlp_body(d_in, bs, n, epochs)
        r = rounds(lambda: hand_script(body), lambda: times(mgr.run(body)), run_reps)
        w = rounds(lambda: hand_mlp(body), lambda: (0.0, 0.0), args.reps)
        steps, ow = epochs * -(-n // bs), r.median("b")
        print(f"2. MLP {d_in}-256-10 batch {bs}: hand-written script {steps / r.median('a'):,.0f} steps/s, run manager "
              f"{steps / ow:,.0f} steps/s -> {r.times(0)} throughput by wall time, {r.times(1)} by thread CPU "
              f"time (target >= 0.98x); the hand loop warm in this process: {w.median('a') / ow:.3f}x wall, "
              f"{w.median('a', 1) / r.median('b', 1):.3f}x CPU")
    for d_in, bs, n, epochs in stats_runs:
        off = mlp_body(d_in, bs, n, epochs, stats_every=10_000_000)
        on_body = mlp_body(d_in, bs, n, epochs, stats_interval=0.2)
        r = rounds(lambda: times(mgr.run(off)), lambda: times(mgr.run(on_body)), run_reps)
        run = mgr.run(on_body)
        snaps = sum(t.startswith('{"seq": ') and '"type": "stats"' in t[:40]
                    for chunk in store.events_after(mgr.engine, run["id"], 0) for _s, t in chunk)
        rate = snaps / run["metrics"]["train_time_s"]
        print(f"3. MLP {d_in}-256-10 batch {bs}, {epochs * -(-n // bs)} steps: stats off {r.median('a') * 1e3:.0f} ms, "
              f"stats on ({rate:.1f} snapshots/s) {r.median('b') * 1e3:.0f} ms -> {r.pct(0)} wall, {r.pct(1)} thread CPU "
              f"(target <= +2%)")
    mgr.m.shutdown()

    # The snapshot's own cost, timed in isolation (steadier than a whole-run difference here):
    # what the training thread pays (two copies, the JSON) and what the statistics thread computes.
    from blocklab.runs.hub import encode
    from blocklab.train.loop import PROBE_BATCH
    from blocklab.train.snapshot import Snapshots

    for d_in in (784, 20):
        if args.quick:
            break
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(d_in, 256), nn.ReLU(), nn.Linear(256, 10))
        x = torch.randn(256, d_in)
        net(x).sum().backward()
        snaps = Snapshots(net, x[:PROBE_BATCH])
        hot = off = 0.0
        for k in range(220):
            t = time.perf_counter()
            snaps.before()  # would wait for the previous snapshot: none is in flight here
            snaps.after(k)
            t1 = time.perf_counter()
            msgs = list(snaps.drain())  # waits while the statistics thread computes
            t2 = time.perf_counter()
            for m in msgs:
                encode({"seq": 1, **m})
            t3 = time.perf_counter()
            if k >= 20:
                hot, off = hot + (t1 - t) + (t3 - t2), off + (t2 - t1)
        snaps.close()
        hot, off = hot / 200, off / 200
        print(f"3'. MLP {d_in}-256-10: a statistics snapshot costs the training thread {hot * 1e3:.2f} ms "
              f"({100 * hot * 5:.2f}% of training time at 5 snapshots/s; target <= 2%) and the statistics "
              f"thread {off * 1e3:.2f} ms")

    srv = Server(args.threads)
    body = mlp_body(*viewers_run)
    r = rounds(lambda: srv.run(body, 0), lambda: srv.run(body, n_viewers), run_reps)  # whole runs: as row 2
    print(f"4. MLP 20-256-10 batch 64 via a real server: no viewers {r.median('a') * 1e3:.0f} ms, {n_viewers} websocket "
          f"viewers {r.median('b') * 1e3:.0f} ms -> {r.pct(0)} wall, {r.pct(1)} training-thread CPU (target <= +5%)")
    srv.close()


if __name__ == "__main__":
    main()
