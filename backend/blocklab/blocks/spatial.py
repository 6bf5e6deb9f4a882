"""More spatial layers, with torch's size rules: Conv3d, MaxPool1d/AvgPool1d, AdaptiveMaxPool2d,
Upsample, ZeroPad2d and Unflatten."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field

from blocklab.blocks.base import BlockType, Params, ShapeError, call, fmt, infer_size, need_rank, torch_dim
from blocklab.blocks.conv import ConvP, _conv_out, _groups
from blocklab.blocks.pooling import AdaptiveP, _adaptive, pooled
from blocklab.blocks.sizes import Kernel, Pad, lit

Triple = tuple[Kernel, Kernel, Kernel]


# ---------------------------------------------------------------- Conv3d
class Conv3dP(ConvP):
    kernel_size: Kernel | Triple = 3
    stride: Kernel | Triple = 1
    padding: Pad | tuple[Pad, Pad, Pad] = 0
    dilation: Kernel | Triple = 1


def _three(v) -> tuple[int, int, int]:
    return (v, v, v) if isinstance(v, int) else tuple(v)


def _conv3d(p: Conv3dP, ins):
    x = ins["x"]
    need_rank(x, 4, "[channels, depth, height, width]")
    p = infer_size(p, "in_channels", x.shape[0], x, "input channels")
    _groups(p, p.in_channels, x)
    out = []
    for i, k, s, pad, d in zip(x.shape[1:], *(_three(v) for v in (p.kernel_size, p.stride, p.padding, p.dilation))):
        o = _conv_out(i, k, s, pad, d)
        if o < 1:
            raise ShapeError(f"has kernel_size={k} (dilation {d}), larger than its input {fmt(x.shape)} from "
                             f"'{x.src}' with padding {pad}; the output would be empty", "kernel_size")
        out.append(o)
    return p, (p.out_channels, *out)


def _conv3d_params(p: Conv3dP):
    s = {"weight": (p.out_channels, p.in_channels // p.groups, *_three(p.kernel_size))}
    return s | {"bias": (p.out_channels,)} if p.bias else s


# ---------------------------------------------------------------- 1-d pooling
class Pool1dP(Params):
    kernel_size: Kernel = 2
    stride: Kernel | None = Field(None, description="defaults to kernel_size")
    padding: Pad = 0
    ceil_mode: bool = False


def _pool1d(p: Pool1dP, ins):
    x = ins["x"]
    need_rank(x, 2, "[channels, length]")
    k = p.kernel_size
    return p, (x.shape[0], pooled(x, x.shape[1], k, p.stride or k, p.padding, p.ceil_mode))


def _pool1d_block(name: str, doc: str) -> BlockType:
    return BlockType(
        name, "layers", doc, _pool1d, Pool1dP, sample={"x": (3, 9)},
        module=lambda p: call(f"nn.{name}", p.kernel_size, stride=p.stride, padding=p.padding, ceil_mode=p.ceil_mode),
    )


# ---------------------------------------------------------------- Upsample, ZeroPad2d, Unflatten
MODES = {"nearest": (1, 2, 3), "linear": (1,), "bilinear": (2,), "bicubic": (2,), "trilinear": (3,)}


class UpsampleP(Params):
    scale_factor: float = Field(2.0, gt=0, le=64, description="output size = floor(input size * scale_factor)")
    mode: Literal["nearest", "linear", "bilinear", "bicubic", "trilinear"] = "nearest"
    align_corners: bool | None = Field(None, description="only for linear, bilinear, bicubic, trilinear")


def _upsample(p: UpsampleP, ins):
    x = ins["x"]
    spatial = len(x.shape) - 1
    if spatial not in MODES[p.mode]:
        want = " or ".join(f"{n} spatial dim(s)" for n in MODES[p.mode])
        raise ShapeError(f"in mode {p.mode!r} expects [channels, ...] with {want} but receives {fmt(x.shape)} "
                         f"from '{x.src}'", "mode")
    if p.align_corners is not None and p.mode == "nearest":
        raise ShapeError("has align_corners, which only the interpolating modes take; leave it out", "align_corners")
    out = tuple(math.floor(float(i) * p.scale_factor) for i in x.shape[1:])
    if min(out) < 1:
        raise ShapeError(f"has scale_factor={p.scale_factor}, which shrinks {fmt(x.shape)} from '{x.src}' to nothing",
                         "scale_factor")
    return p, (x.shape[0], *out)


PadSide = Annotated[int, Field(ge=0, le=1024)]


class ZeroPadP(Params):
    padding: PadSide | tuple[PadSide, PadSide, PadSide, PadSide] = Field(
        1, description="all sides, or (left, right, top, bottom)")


def _zeropad(p: ZeroPadP, ins):
    x = ins["x"]
    need_rank(x, (2, 3), "[channels, height, width] or [height, width]")
    left, right, top, bottom = (p.padding,) * 4 if isinstance(p.padding, int) else p.padding
    return p, (*x.shape[:-2], x.shape[-2] + top + bottom, x.shape[-1] + left + right)


class UnflattenP(Params):
    dim: int = Field(1, ge=-8, le=8, description="torch dim, batch included (never 0)")
    unflattened_size: list[Annotated[int, Field(ge=-1, le=1_000_000)]] = Field(
        [1, -1], min_length=1, max_length=6, description="what that dim becomes; one entry may be -1")


def _unflatten(p: UnflattenP, ins):
    x = ins["x"]
    d = torch_dim(p.dim, len(x.shape) + 1, x.src) - 1
    sizes, n = list(p.unflattened_size), x.shape[d]
    if 0 in sizes or sizes.count(-1) > 1:
        raise ShapeError("has unflattened_size with a 0 or more than one -1", "unflattened_size")
    known = math.prod(s for s in sizes if s != -1)
    if (n % known if -1 in sizes else known != n):
        raise ShapeError(f"cannot unflatten size {n} of dim {p.dim} from '{x.src}' into {p.unflattened_size}", "unflattened_size")
    if -1 in sizes:
        sizes[sizes.index(-1)] = n // known
    return p, (*x.shape[:d], *sizes, *x.shape[d + 1:])


BLOCKS = [
    BlockType(
        "Conv3d", "layers", "3-d convolution over [channels, depth, height, width] (video, volumes).",
        _conv3d, Conv3dP, sample={"x": (2, 5, 6, 6)},
        module=lambda p: call(
            "nn.Conv3d", p.in_channels, p.out_channels, lit(p.kernel_size), stride=lit(p.stride), padding=lit(p.padding),
            dilation=lit(p.dilation), groups=p.groups, bias=p.bias,
        ),
        param_shapes=_conv3d_params, parameter_names=("weight", "bias"),
    ),
    _pool1d_block("MaxPool1d", "Max over each window of a [channels, length] sequence."),
    _pool1d_block("AvgPool1d", "Mean over each window of a [channels, length] sequence."),
    BlockType(
        "AdaptiveMaxPool2d", "layers", "Max-pools any height and width down to output_size.",
        _adaptive, AdaptiveP, module=lambda p: call("nn.AdaptiveMaxPool2d", lit(p.output_size)), sample={"x": (3, 7, 7)},
    ),
    BlockType(
        "Upsample", "layers", "Scales the spatial dims by scale_factor, by nearest neighbour or interpolation.",
        _upsample, UpsampleP, sample={"x": (3, 4, 4)},
        module=lambda p: call("nn.Upsample", scale_factor=p.scale_factor, mode=p.mode, align_corners=p.align_corners),
    ),
    BlockType(
        "ZeroPad2d", "layers", "Pads height and width with zeros: padding on every side, or (left, right, top, bottom).",
        _zeropad, ZeroPadP, sample={"x": (3, 4, 4)}, module=lambda p: call("nn.ZeroPad2d", lit(p.padding)),
    ),
    BlockType(
        "Unflatten", "layers", "Splits one dim into several: [C*H*W] with unflattened_size [C, H, W] -> [C, H, W].",
        _unflatten, UnflattenP, sample={"x": (12,)}, module=lambda p: call("nn.Unflatten", p.dim, tuple(p.unflattened_size)),
    ),
]
