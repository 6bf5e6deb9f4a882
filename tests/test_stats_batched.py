"""The parameter statistics (train/stats.py: foreach passes in one scratch buffer, every
histogram in one bincount) against torch computing each statistic per tensor, directly."""

import math

import pytest
import torch
from torch import nn

from blocklab.train.stats import BINS, SAMPLE, ParamStats


def _reference(p: torch.Tensor, before: torch.Tensor, grad: torch.Tensor | None) -> dict:
    flat = p.detach().reshape(-1)
    lo, hi = flat.min(), flat.max()
    width = hi - lo if hi > lo else torch.ones_like(hi)
    sample = flat[::max(1, -(-flat.numel() // SAMPLE))]  # the strided sample the contract describes
    idx = ((sample - lo) * (BINS / width)).long().clamp(0, BINS - 1)
    return {"mean": flat.mean().item(), "std": flat.std().item() if flat.numel() > 1 else 0.0,
            "min": lo.item(), "max": hi.item(), "grad_norm": grad.norm().item() if grad is not None else 0.0,
            "update_ratio": ((flat - before.reshape(-1)).norm() / flat.norm()).item(),
            "counts": torch.bincount(idx, minlength=BINS).tolist()}


class _Odd(nn.Module):
    """Tensors of every kind the statistics meet: large (strided sample), one element, a
    constant without a gradient, a large mean with a tiny spread (BatchNorm-like), large
    values, frozen (no grad); `wide` in float64 when `mixed`."""

    def __init__(self, mixed: bool = False):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.big = nn.Parameter(torch.randn(300, 70, generator=g) * 0.05 + 0.01)
        self.one = nn.Parameter(torch.tensor([0.7]))
        self.const = nn.Parameter(torch.full((5, 3), -2.0))
        self.bn = nn.Parameter(1 + 1e-3 * torch.randn(64, generator=g))
        self.wide = nn.Parameter((torch.randn(4, 4, generator=g) * 1e3).to(torch.float64 if mixed else torch.float32))
        self.frozen = nn.Parameter(torch.randn(6, generator=g), requires_grad=False)

    def forward(self, x):
        return (x * self.big.sum() * self.one + self.bn.square().sum() + self.wide.sum().float()).sum()


@pytest.mark.parametrize("mixed", [False, True])
def test_every_statistic_is_torchs_per_tensor(mixed):
    m = _Odd(mixed)
    m(torch.randn(3)).backward()
    st = ParamStats(m)
    st.before_step()
    before = {k: v.detach().clone() for k, v in m.named_parameters()}
    with torch.no_grad():
        for p in m.parameters():
            if p.grad is not None:
                p -= 0.01 * p.grad
    layers = st.after_step()
    assert [r["name"] for r in layers] == [k for k, _ in m.named_parameters()]
    for r, (name, p) in zip(layers, m.named_parameters()):
        # mixed dtypes: every tensor's statistics are taken in the widest dtype, float64
        want = _reference(p.double() if mixed else p, before[name].double() if mixed else before[name], p.grad)
        assert r["shape"] == list(p.shape) and r["nonfinite"] == 0
        assert r["min"] == want["min"] and r["max"] == want["max"], name
        assert math.isclose(r["mean"], want["mean"], rel_tol=1e-5, abs_tol=1e-7), name
        assert math.isclose(r["std"], want["std"], rel_tol=1e-4, abs_tol=1e-9), name
        assert math.isclose(r["grad_norm"], want["grad_norm"], rel_tol=1e-5), name  # 0 without a gradient
        assert math.isclose(r["update_ratio"], want["update_ratio"], rel_tol=1e-3, abs_tol=1e-12), name
        assert (r["update_ratio"] == 0) == (name in ("const", "frozen"))  # no gradient: no update
        assert r["hist"]["counts"] == want["counts"], name
        lo, hi = want["min"], want["max"] if want["max"] > want["min"] else want["min"] + 1
        assert r["hist"]["edges"] == [lo + (hi - lo) * i / BINS for i in range(BINS + 1)]
    assert sum(layers[0]["hist"]["counts"]) <= SAMPLE  # 21,000 values: a strided sample


def test_without_a_step_there_is_no_update_ratio_and_the_scratch_is_reused():
    m = nn.Linear(4, 3)
    st = ParamStats(m)
    first = st.after_step()
    assert all(r["update_ratio"] is None for r in first)
    st.before_step()
    second = st.after_step()  # no step between: the weights did not move
    assert [r["update_ratio"] for r in second] == [0.0, 0.0]
    assert [{k: v for k, v in r.items() if k != "update_ratio"} for r in first] == \
        [{k: v for k, v in r.items() if k != "update_ratio"} for r in second]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_values_are_counted_and_null(bad):
    m = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2))
    with torch.no_grad():
        m[0].weight[1, 1] = bad
    layers = {r["name"]: r for r in ParamStats(m).after_step()}
    r = layers["0.weight"]
    assert r["nonfinite"] == 1 and r["mean"] is None and r["std"] is None
    assert (r["min"] is None, r["max"] is None) == {"nan": (True, True), "inf": (False, True), "-inf": (True, False)}[str(bad)]
    assert sum(r["hist"]["counts"]) == 6
    for k in ("0.bias", "1.weight", "1.bias"):  # the other tensors' statistics are unaffected
        assert layers[k]["nonfinite"] == 0 and layers[k]["mean"] == m.get_parameter(k).mean().item()
