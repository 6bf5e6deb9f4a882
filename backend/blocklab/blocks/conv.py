"""Convolutions: Conv1d, Conv2d and ConvTranspose2d, with torch's output-size rules."""

from __future__ import annotations

from pydantic import Field

from blocklab.blocks.base import BlockType, In, Params, Shape, ShapeError, call, fmt, infer_size, need_rank
from blocklab.blocks.sizes import INFERRED, Kernel, KernelArg, Pad, PadArg, Size, lit, per_dim


class ConvP(Params):
    in_channels: Size | None = Field(None, description=INFERRED)
    out_channels: Size = 16
    kernel_size: KernelArg = 3
    stride: KernelArg = 1
    padding: PadArg = 0
    dilation: KernelArg = 1
    groups: Size = 1
    bias: bool = True


class ConvTP(ConvP):
    output_padding: PadArg = 0


def _conv_out(i: int, k: int, s: int, pad: int, d: int) -> int:
    return (i + 2 * pad - d * (k - 1) - 1) // s + 1


def _tconv_out(i: int, k: int, s: int, pad: int, d: int, op: int) -> int:
    return (i - 1) * s - 2 * pad + d * (k - 1) + op + 1


def _groups(p: ConvP, cin: int, x: In) -> None:
    if cin % p.groups or p.out_channels % p.groups:
        raise ShapeError(
            f"has groups={p.groups}, which must divide both in_channels={cin} and out_channels={p.out_channels}",
            "groups",
        )


def _conv(nd: int, transposed: bool):
    def infer(p: ConvP, ins):
        x = ins["x"]
        need_rank(x, nd + 1, f"[channels, {'length' if nd == 1 else 'height, width'}]")
        p = infer_size(p, "in_channels", x.shape[0], x, "input channels")
        _groups(p, p.in_channels, x)
        ks, ss, ps, ds = (per_dim(v, nd) for v in (p.kernel_size, p.stride, p.padding, p.dilation))
        ops = per_dim(p.output_padding, nd) if transposed else (0,) * nd
        out = []
        for i, k, s, pad, d, op in zip(x.shape[1:], ks, ss, ps, ds, ops):
            if transposed:
                if op >= max(s, d):
                    raise ShapeError(f"has output_padding={op}, which must be smaller than stride or dilation", "output_padding")
                o = _tconv_out(i, k, s, pad, d, op)
            else:
                o = _conv_out(i, k, s, pad, d)
            if o < 1:
                raise ShapeError(
                    f"has kernel_size={k} (dilation {d}), larger than its input {fmt(x.shape)} from '{x.src}' "
                    f"with padding {pad}; the output would be empty", "kernel_size",
                )
            out.append(o)
        return p, (p.out_channels, *out)

    return infer


def _conv_params(nd: int, transposed: bool):
    def shapes(p: ConvP) -> dict[str, Shape]:
        k = per_dim(p.kernel_size, nd)
        w = (p.in_channels, p.out_channels // p.groups) if transposed else (p.out_channels, p.in_channels // p.groups)
        s = {"weight": (*w, *k)}
        return s | {"bias": (p.out_channels,)} if p.bias else s

    return shapes


def _conv_module(cls: str, nd: int, transposed: bool):
    def module(p: ConvP) -> str:
        extra = {"output_padding": lit(p.output_padding)} if transposed else {}
        return call(
            cls, p.in_channels, p.out_channels, lit(p.kernel_size), stride=lit(p.stride),
            padding=lit(p.padding), **extra, dilation=lit(p.dilation), groups=p.groups, bias=p.bias,
        )

    return module


class Conv1dP(ConvP):
    kernel_size: Kernel = 3
    stride: Kernel = 1
    padding: Pad = 0
    dilation: Kernel = 1


def _conv_block(name: str, nd: int, params, doc: str, transposed: bool = False) -> BlockType:
    return BlockType(
        name, "layers", doc, _conv(nd, transposed), params, sample={"x": (3, 10) if nd == 1 else (3, 10, 10)},
        module=_conv_module(f"nn.{name}", nd, transposed),
        param_shapes=_conv_params(nd, transposed), parameter_names=("weight", "bias"),
    )


BLOCKS = [
    _conv_block("Conv1d", 1, Conv1dP, "1-d convolution over [channels, length]."),
    _conv_block("Conv2d", 2, ConvP, "2-d convolution over [channels, height, width]."),
    _conv_block("ConvTranspose2d", 2, ConvTP, "Transposed 2-d convolution: learns to upsample.", transposed=True),
]
