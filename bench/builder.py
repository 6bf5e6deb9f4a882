"""Builder benchmark: the built model against the same network written by hand, and the
time to validate a 1,000-node chain. Prints ratios measured side by side in one run.

    .venv/bin/python bench/builder.py [--quick]

--quick runs every measurement once at tiny sizes (CI runs it so the benchmark cannot rot;
its numbers mean nothing).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from blocklab.graph.analyze import analyze  # noqa: E402
from blocklab.graph.build import build  # noqa: E402
from blocklab.graph.document import GraphDoc  # noqa: E402


class HandMLP(nn.Module):
    def __init__(self, n_in: int, n_hidden: int, n_out: int):
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.act = nn.ReLU()
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, X):
        return self.out(self.act(self.hidden(X)))


def mlp_doc(n_in: int, n_hidden: int, n_out: int) -> GraphDoc:
    ids = [("X", "Input", {"shape": [n_in]}), ("hidden", "Linear", {"out_features": n_hidden}), ("act", "ReLU", {}),
           ("out", "Linear", {"out_features": n_out}), ("Y", "Output", {})]
    return GraphDoc.model_validate({
        "nodes": [{"id": i, "type": t, "params": p} for i, t, p in ids],
        "edges": [{"source": a[0], "target": b[0]} for a, b in zip(ids, ids[1:])],
    })


def steps_per_second(model: nn.Module, X, y, steps: int) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(5):  # warm-up
        opt.zero_grad(set_to_none=True)
        loss_fn(model(X), y).backward()
        opt.step()
    t = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss_fn(model(X), y).backward()
        opt.step()
    return steps / (time.perf_counter() - t)


def throughput_ratio(n_in: int, n_hidden: int, n_out: int, batch: int, steps: int, rounds: int = 31) -> tuple[float, float, float]:
    torch.manual_seed(0)
    built, hand = build(mlp_doc(n_in, n_hidden, n_out)), HandMLP(n_in, n_hidden, n_out)
    hand.load_state_dict(built.state_dict())
    X, y = torch.randn(batch, n_in), torch.randint(0, n_out, (batch,))
    ratios, b, h = [], [], []
    for r in range(rounds):
        # Short bursts, alternating which goes first: load drift hits both alike, and the
        # median of per-round ratios ignores rounds disturbed by other processes.
        pair = [(built, b), (hand, h)][:: 1 if r % 2 else -1]
        for model, out in pair:
            out.append(steps_per_second(model, X, y, steps))
        ratios.append(b[-1] / h[-1])
    return statistics.median(ratios), statistics.median(b), statistics.median(h)


def chain_doc(n: int) -> dict:
    ids = [("X", "Input", {"shape": [16]})]
    ids += [(f"l{i}", "Linear", {"out_features": 16}) if i % 2 == 0 else (f"l{i}", "ReLU", {}) for i in range(n - 2)]
    ids.append(("Y", "Output", {}))
    return {
        "nodes": [{"id": i, "type": t, "params": p} for i, t, p in ids],
        "edges": [{"source": a[0], "target": b[0]} for a, b in zip(ids, ids[1:])],
    }


def validate_ms(n: int, repeats: int = 15) -> tuple[float, float]:
    """Median (wall, this thread's CPU) milliseconds: CPU time is steadier on a shared machine."""
    body = chain_doc(n)
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.thread_time()
        report = analyze(GraphDoc.model_validate(body)).report()  # parse + validate + infer + report
        wall.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
        assert report["ok"]
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="once, tiny sizes: checks the benchmark runs")
    quick = ap.parse_args().quick
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, SGD{' (quick: sizes too small to mean anything)' if quick else ''}")
    for case in [(784, 256, 10, 256, 15), (20, 256, 10, 64, 100)]:
        r, b, h = throughput_ratio(*case[:4], steps=2, rounds=1) if quick else throughput_ratio(*case)
        print(f"MLP {case[0]}-{case[1]}-{case[2]} batch {case[3]}: built/hand-written = {r:.3f} "
              f"({b:,.0f} vs {h:,.0f} steps/s; target >= 0.98)")
    n = 50 if quick else 1000
    wall, cpu = validate_ms(n, repeats=1 if quick else 15)
    print(f"validate + shape-infer a {n:,}-node chain: {wall:.1f} ms wall, {cpu:.1f} ms CPU "
          f"(target for 1,000 nodes <= 20 ms)")


if __name__ == "__main__":
    main()
