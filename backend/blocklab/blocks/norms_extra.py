"""More normalisation and regularisation: GroupNorm, InstanceNorm2d and Dropout2d."""

from __future__ import annotations

from pydantic import Field

from blocklab.blocks.base import BlockType, Params, ShapeError, call, fmt, infer_size, need_rank
from blocklab.blocks.sizes import INFERRED, Size


class GroupNormP(Params):
    num_groups: Size = 2
    num_channels: Size | None = Field(None, description=INFERRED)
    eps: float = Field(1e-5, gt=0, le=1)
    affine: bool = True


def _groupnorm(p: GroupNormP, ins):
    x = ins["x"]  # [channels, ...]: any positions after the channels
    p = infer_size(p, "num_channels", x.shape[0], x, "channels")
    if p.num_channels % p.num_groups:
        raise ShapeError(f"has num_groups={p.num_groups}, which does not divide the {p.num_channels} channels",
                         "num_groups")
    return p, x.shape


class InstanceNormP(Params):
    num_features: Size | None = Field(None, description=INFERRED)
    eps: float = Field(1e-5, gt=0, le=1)
    momentum: float = Field(0.1, ge=0, le=1)
    affine: bool = False
    track_running_stats: bool = False


def _instancenorm(p: InstanceNormP, ins):
    x = ins["x"]
    need_rank(x, 3, "[channels, height, width]")
    if x.shape[1] * x.shape[2] < 2:  # one position has no spread: torch refuses it while training
        raise ShapeError(f"needs more than one position per channel; its input {fmt(x.shape)} from '{x.src}' has "
                         "height x width = 1", "x")
    return infer_size(p, "num_features", x.shape[0], x, "channels"), x.shape


class Dropout2dP(Params):
    p: float = Field(0.5, ge=0, lt=1, description="probability of zeroing each whole channel while training")


def _dropout2d(p: Dropout2dP, ins):
    x = ins["x"]
    need_rank(x, 3, "[channels, height, width]")
    return p, x.shape


BLOCKS = [
    BlockType(
        "GroupNorm", "layers", "Normalises each sample over groups of channels (and all positions): batch-size free.",
        _groupnorm, GroupNormP, sample={"x": (4, 5, 5)},
        module=lambda p: call("nn.GroupNorm", p.num_groups, p.num_channels, eps=p.eps, affine=p.affine),
        param_shapes=lambda p: {"weight": (p.num_channels,), "bias": (p.num_channels,)} if p.affine else {},
        parameter_names=("weight", "bias"),
    ),
    BlockType(
        "InstanceNorm2d", "layers", "Normalises each channel of each sample over its height and width (style transfer).",
        _instancenorm, InstanceNormP, sample={"x": (3, 5, 5)},
        module=lambda p: call(
            "nn.InstanceNorm2d", p.num_features, eps=p.eps, momentum=p.momentum, affine=p.affine,
            track_running_stats=p.track_running_stats,
        ),
        param_shapes=lambda p: {"weight": (p.num_features,), "bias": (p.num_features,)} if p.affine else {},
        parameter_names=("weight", "bias"),
    ),
    BlockType(
        "Dropout2d", "layers", "Zeroes whole channels at random while training (p), scaling the rest by 1 / (1 - p).",
        _dropout2d, Dropout2dP, sample={"x": (3, 5, 5)}, module=lambda p: call("nn.Dropout2d", p.p),
    ),
]
