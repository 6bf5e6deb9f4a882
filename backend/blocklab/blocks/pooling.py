"""Pooling: MaxPool2d and AvgPool2d (torch's ceil_mode rule included) and AdaptiveAvgPool2d."""

from __future__ import annotations

from pydantic import Field

from blocklab.blocks.base import BlockType, Params, ShapeError, call, fmt, need_rank, pair
from blocklab.blocks.sizes import KernelArg, PadArg, lit


class PoolP(Params):
    kernel_size: KernelArg = 2
    stride: KernelArg | None = Field(None, description="defaults to kernel_size")
    padding: PadArg = 0
    ceil_mode: bool = False


def _pool(p: PoolP, ins):
    x = ins["x"]
    need_rank(x, 3, "[channels, height, width]")
    ks, ps = pair(p.kernel_size), pair(p.padding)
    ss = ks if p.stride is None else pair(p.stride)
    return p, (x.shape[0], *(pooled(x, i, k, s, pad, p.ceil_mode) for i, k, s, pad in zip(x.shape[1:], ks, ss, ps)))


def pooled(x, i: int, k: int, s: int, pad: int, ceil_mode: bool) -> int:
    """The output size of one pooled dim of input `x` (size i): torch's rule, ceil_mode included."""
    if pad * 2 > k:
        raise ShapeError(f"has padding={pad}, which must be at most half of kernel_size={k}", "padding")
    n = i + 2 * pad - k
    o = (-(-n // s) if ceil_mode else n // s) + 1
    if ceil_mode and (o - 1) * s >= i + pad:  # torch drops a last window that starts in the padding
        o -= 1
    if o < 1:
        raise ShapeError(f"has kernel_size={k}, larger than its input {fmt(x.shape)} from '{x.src}'", "kernel_size")
    return o


def _pool_block(name: str, doc: str) -> BlockType:
    def module(p: PoolP) -> str:
        stride = None if p.stride is None else lit(p.stride)
        return call(f"nn.{name}", lit(p.kernel_size), stride=stride, padding=lit(p.padding), ceil_mode=p.ceil_mode)

    return BlockType(name, "layers", doc, _pool, PoolP, module=module, sample={"x": (3, 9, 9)})


class AdaptiveP(Params):
    output_size: KernelArg = 1


def _adaptive(p: AdaptiveP, ins):
    x = ins["x"]
    need_rank(x, 3, "[channels, height, width]")
    return p, (x.shape[0], *pair(p.output_size))


BLOCKS = [
    _pool_block("MaxPool2d", "Max over each kernel window: downsamples, keeps the strongest response."),
    _pool_block("AvgPool2d", "Mean over each kernel window: downsamples smoothly."),
    BlockType(
        "AdaptiveAvgPool2d", "layers", "Average-pools any height and width down to output_size.",
        _adaptive, AdaptiveP, module=lambda p: call("nn.AdaptiveAvgPool2d", lit(p.output_size)), sample={"x": (3, 7, 7)},
    ),
]
