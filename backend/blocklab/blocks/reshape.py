"""Reshaping: Flatten (torch dims, batch included) and Reshape (per-sample shapes, one -1)."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field

from blocklab.blocks.base import BlockType, Params, ShapeError, call, fmt, torch_dim


class FlattenP(Params):
    start_dim: int = Field(1, ge=-8, le=8, description="torch dim, batch included; 1 keeps the batch")
    end_dim: int = Field(-1, ge=-8, le=8)


def _flatten(p: FlattenP, ins):
    x = ins["x"]
    n = len(x.shape) + 1
    s = torch_dim(p.start_dim, n, x.src, "start_dim")
    e = torch_dim(p.end_dim, n, x.src, "end_dim")
    if s > e:
        raise ShapeError(f"has start_dim={p.start_dim} after end_dim={p.end_dim}", "start_dim")
    sh = x.shape
    return p, sh[: s - 1] + (math.prod(sh[s - 1 : e]),) + sh[e:]


class ReshapeP(Params):
    shape: list[Annotated[int, Field(ge=-1, le=1_000_000)]] = Field(
        [-1], min_length=1, max_length=6, description="per-sample target shape; one entry may be -1"
    )


def _reshape(p: ReshapeP, ins):
    x = ins["x"]
    n, target = math.prod(x.shape), list(p.shape)
    if 0 in target:
        raise ShapeError("has a 0 in shape; every size must be positive (or one -1)", "shape")
    if target.count(-1) > 1:
        raise ShapeError("has more than one -1 in shape", "shape")
    known = math.prod(t for t in target if t != -1)
    if -1 in target:
        if n % known:
            raise ShapeError(f"cannot reshape {fmt(x.shape)} from '{x.src}' ({n} values) into {fmt(tuple(target))}", "shape")
        target[target.index(-1)] = n // known
    elif known != n:
        raise ShapeError(
            f"cannot reshape {fmt(x.shape)} from '{x.src}' ({n} values) into {fmt(tuple(target))} ({known} values)", "shape"
        )
    return p, tuple(target)


BLOCKS = [
    BlockType(
        "Flatten", "layers", "Flattens dims start_dim..end_dim into one: [C, H, W] -> [C*H*W].",
        _flatten, FlattenP, module=lambda p: call("nn.Flatten", p.start_dim, p.end_dim), sample={"x": (3, 4, 5)},
    ),
    BlockType(
        "Reshape", "layers", "Views each sample with a new shape holding the same number of values.",
        _reshape, ReshapeP, sample={"x": (3, 4, 5)},
        module=None, forward=lambda p, a, m: f"{a['x']}.reshape({a['x']}.shape[0], {', '.join(map(str, p.shape))})",
    ),
]
