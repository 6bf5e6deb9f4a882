"""Per-layer statistics, computed on the device and read back with one host sync.

Parameters (one entry per parameter tensor, named as in the state_dict): mean, std, min,
max, grad_norm, update_ratio = ||w_after - w_before|| / ||w_after||, nonfinite count and a
histogram. The scalar statistics are exact (to float rounding); the histogram is taken on a
strided sample of at most SAMPLE elements, because histogramming dominates the cost.

The statistics thread (train/snapshot.py) shares the GIL with training, and every torch call
and line of Python it runs can hold the training thread up, so there are few calls (~25 and
two per tensor) and no temporary the size of the parameters: the other passes are
torch._foreach_* ops over all the tensors at once, working in place in a
Scratch vector (one contiguous buffer, allocated once, with a view per parameter), and the
histogram samples of all tensors are binned with one gather and one bincount. Per tensor
only aminmax and sum (no faster foreach form: _foreach_max is as slow as aminmax, and
segment_reduce 10x slower). std is ||x - mean|| / sqrt(n - 1), in place in the scratch (no
torch.std_mean: 8x slower in this build; no concatenated copy of every parameter).

Activations: one forward pass of a fixed sample batch in eval mode under no_grad, with
forward hooks registered on the top-level submodules (whose names are the node ids) only for
that pass, so training steps never pay for hooks.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

BINS = 24
SAMPLE = 8192
RELU_LIKE = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Softplus)


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


class Scratch:
    """One contiguous vector with a view per tensor of `like` (same shapes), allocated once.
    The snapshot copies the weights before the step into `views`; param_rows then reuses it
    in place. `sample`: the positions in `vec` of each tensor's strided histogram sample
    (t.reshape(-1)[::stride]); `seg`: which tensor each sample position belongs to."""

    def __init__(self, like: list[torch.Tensor]):
        dtype = functools.reduce(torch.promote_types, (t.dtype for t in like), like[0].dtype) if like else torch.float32
        device = like[0].device if like else torch.device("cpu")
        numels = [t.numel() for t in like]
        self.vec = torch.empty(sum(numels), dtype=dtype, device=device)
        self.views = [v.view(t.shape) for v, t in zip(self.vec.split(numels), like)]
        starts = [0, *torch.tensor(numels, dtype=torch.long).cumsum(0).tolist()]
        picks = [torch.arange(s, s + n, max(1, -(-n // SAMPLE))) for s, n in zip(starts, numels)]
        self.sample = torch.cat(picks).to(device) if picks else torch.zeros(0, dtype=torch.long, device=device)
        self.seg = torch.repeat_interleave(torch.arange(len(picks)), torch.tensor([len(p) for p in picks],
                                           dtype=torch.long)).to(device)
        self.base = self.seg * BINS  # each sample's first bin in the [P * BINS] counts
        self.n = torch.tensor(numels, dtype=torch.float64, device=device)  # [P]


def param_rows(named: list[tuple[str, torch.Tensor]], grads: list[torch.Tensor | None],
               scratch: Scratch, prev: bool) -> list[dict]:
    """One entry per parameter: `named` holds the weights after the optimizer step, `grads`
    their gradients (None: no gradient, e.g. frozen); `scratch.views` hold the weights before
    the step if `prev` (else: no update ratio) and are overwritten. One host read for all."""
    if not named:
        return []
    ps = [p.detach() for _, p in named]
    v, P = scratch.views, len(ps)
    gs = [g if g is not None else torch.zeros((), device=p.device, dtype=p.dtype) for p, g in zip(ps, grads)]
    f64 = lambda ts: torch.stack(ts).double()  # noqa: E731  (stack promotes mixed dtypes)
    gnorm = f64(torch._foreach_norm(gs))
    pnorm = f64(torch._foreach_norm(ps))
    if prev:
        torch._foreach_sub_(v, ps)  # w_before - w_after
        unorm = f64(torch._foreach_norm(v))
    torch._foreach_copy_(v, ps)  # v = x, contiguous
    sample = scratch.vec[scratch.sample]  # [sum of sample sizes]: every tensor's strided sample
    lo, hi = torch.stack([m for t in v for m in torch.aminmax(t)]).view(P, 2).unbind(1)  # [P] each, exact
    mean = torch.stack([t.sum() for t in v]).double() / scratch.n
    torch._foreach_sub_(v, mean.to(scratch.vec.dtype).unbind())  # v = x - mean
    std = f64(torch._foreach_norm(v)) / scratch.n.sub(1).clamp_min(1).sqrt()
    # Histogram: the bins of each tensor's sample over its exact [lo, hi] (a constant tensor:
    # [lo, lo + 1]; non-finite values make lo/hi non-finite, land in bin 0 and `nonfinite` says so).
    width = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    idx = (sample - lo[scratch.seg]).mul_((BINS / width)[scratch.seg]).long().clamp_(0, BINS - 1)
    counts = torch.bincount(idx.add_(scratch.base), minlength=P * BINS)
    ratio = unorm / pnorm.clamp_min(1e-12) if prev else pnorm
    values = torch.cat([torch.stack([mean, std, lo.double(), hi.double(), gnorm, ratio], 1).reshape(-1),
                        counts.double()]).tolist()  # the one host sync
    out = []
    for i, ((name, _), p) in enumerate(zip(named, ps)):
        m, s, lo_i, hi_i, g, r = values[6 * i:6 * i + 6]
        c = values[6 * P + BINS * i:6 * P + BINS * (i + 1)]
        top = hi_i if hi_i > lo_i else lo_i + 1 if math.isfinite(lo_i) else lo_i  # constant: [lo, lo + 1], as binned
        w = top - lo_i
        edges = [lo_i + w * k / BINS for k in range(BINS + 1)]
        # NaN reaches the mean and +-Inf the min or max: count non-finite values only then
        # (isfinite().sum() would cost more than every other statistic together).
        finite = math.isfinite(m) and math.isfinite(lo_i) and math.isfinite(hi_i)
        out.append({
            "name": name, "shape": list(p.shape),
            "mean": _finite(m), "std": _finite(s), "min": _finite(lo_i), "max": _finite(hi_i),
            "grad_norm": _finite(g), "update_ratio": _finite(r) if prev else None,
            "nonfinite": 0 if finite else int((~torch.isfinite(p)).sum()),
            "hist": {"edges": edges if math.isfinite(w) else [_finite(e) for e in edges], "counts": [int(k) for k in c]},
        })
    return out


class ParamStats:
    """Call `before_step()` after backward, then `after_step()` after the optimizer step
    (on the training thread: train/snapshot.py takes the same statistics off it)."""

    def __init__(self, model: nn.Module):
        self.named = list(model.named_parameters())  # a shared (tied) tensor is listed once
        self.scratch = Scratch([p for _, p in self.named])
        self.prev = False

    @torch.no_grad()
    def before_step(self) -> None:
        if self.named:
            torch._foreach_copy_(self.scratch.views, [p.detach() for _, p in self.named])
        self.prev = True

    @torch.no_grad()
    def after_step(self) -> list[dict]:
        prev, self.prev = self.prev, False
        return param_rows(self.named, [p.grad for _, p in self.named], self.scratch, prev)


class ActivationProbe:
    """Per node: mean and std of its output on a sample batch; dead_fraction for ReLU-like nodes
    (units, i.e. output positions, that are <= 0 for every sample of the batch)."""

    def __init__(self, model: nn.Module, sample: torch.Tensor):
        self.model, self.sample = model, sample
        self.mods = [(n, m) for n, m in model.named_children()]

    @torch.no_grad()
    def run(self) -> list[dict]:
        found: dict[str, torch.Tensor] = {}
        relu: set[str] = set()

        def hook(name: str, mod: nn.Module):
            def fn(_m, _inp, out):
                if not isinstance(out, torch.Tensor) or not out.is_floating_point() or out.numel() == 0:
                    return
                o = out.float()
                parts = [o.mean(), o.std() if o.numel() > 1 else torch.zeros((), device=o.device)]
                if isinstance(mod, RELU_LIKE) and o.dim() > 1:
                    parts.append((o <= 0).flatten(1).all(0).float().mean())
                    relu.add(name)
                found[name] = torch.stack(parts)
            return fn

        handles = [m.register_forward_hook(hook(n, m)) for n, m in self.mods]
        was = self.model.training
        try:
            self.model.eval()
            self.model(self.sample)
        finally:
            self.model.train(was)
            for h in handles:
                h.remove()
        if not found:
            return []
        names = list(found)
        vals = torch.cat([found[n] for n in names]).tolist()
        out, i = [], 0
        for n in names:
            k = 3 if n in relu else 2
            entry = {"node": n, "mean": _finite(vals[i]), "std": _finite(vals[i + 1])}
            if k == 3:
                entry["dead_fraction"] = vals[i + 2]
            out.append(entry)
            i += k
        return out
