"""Layers with parameters or a fixed structure: linear, convolutions, pooling, norms,
embeddings and recurrent layers. Input sizes left out are inferred from the incoming shape."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field

from blocklab.blocks.base import (
    BlockType, In, Params, Shape, ShapeError, call, fmt, infer_size, need_rank, pair, torch_dim,
)

Size = Annotated[int, Field(ge=1, le=1_000_000)]
Kernel = Annotated[int, Field(ge=1, le=1024)]
Pad = Annotated[int, Field(ge=0, le=1024)]
KernelArg = Kernel | tuple[Kernel, Kernel]
PadArg = Pad | tuple[Pad, Pad]
INFERRED = "inferred from the input when left out"


def _same(p, ins: dict[str, In]):
    return p, ins["x"].shape


# ---------------------------------------------------------------- Linear
class LinearP(Params):
    in_features: Size | None = Field(None, description=INFERRED)
    out_features: Size = 64
    bias: bool = True


def _linear(p: LinearP, ins):
    x = ins["x"]
    p = infer_size(p, "in_features", x.shape[-1], x, "input features")
    return p, x.shape[:-1] + (p.out_features,)


def _linear_params(p: LinearP) -> dict[str, Shape]:
    s = {"weight": (p.out_features, p.in_features)}
    return s | {"bias": (p.out_features,)} if p.bias else s


LINEAR = BlockType(
    "Linear", "layers", "y = x W^T + b: a fully connected (dense) layer on the last dim.",
    _linear, LinearP,
    module=lambda p: call("nn.Linear", p.in_features, p.out_features, bias=p.bias),
    param_shapes=_linear_params, parameter_names=("weight", "bias"),
)


# ---------------------------------------------------------------- Convolutions
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
        ks, ss, ps, ds = (_nd(v, nd) for v in (p.kernel_size, p.stride, p.padding, p.dilation))
        ops = _nd(p.output_padding, nd) if transposed else (0,) * nd
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


def _nd(v, nd: int) -> tuple[int, ...]:
    return (v,) * nd if isinstance(v, int) else tuple(v)[:nd] if nd == 1 else pair(v)


def _conv_params(nd: int, transposed: bool):
    def shapes(p: ConvP) -> dict[str, Shape]:
        k = _nd(p.kernel_size, nd)
        w = (p.in_channels, p.out_channels // p.groups) if transposed else (p.out_channels, p.in_channels // p.groups)
        s = {"weight": (*w, *k)}
        return s | {"bias": (p.out_channels,)} if p.bias else s

    return shapes


def _conv_module(cls: str, nd: int, transposed: bool):
    def module(p: ConvP) -> str:
        extra = {"output_padding": _lit(p.output_padding)} if transposed else {}
        return call(
            cls, p.in_channels, p.out_channels, _lit(p.kernel_size), stride=_lit(p.stride),
            padding=_lit(p.padding), **extra, dilation=_lit(p.dilation), groups=p.groups, bias=p.bias,
        )

    return module


def _lit(v):
    return v if isinstance(v, int) else tuple(v)


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


CONVS = [
    _conv_block("Conv1d", 1, Conv1dP, "1-d convolution over [channels, length]."),
    _conv_block("Conv2d", 2, ConvP, "2-d convolution over [channels, height, width]."),
    _conv_block("ConvTranspose2d", 2, ConvTP, "Transposed 2-d convolution: learns to upsample.", transposed=True),
]


# ---------------------------------------------------------------- Pooling
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
    out = []
    for i, k, s, pad in zip(x.shape[1:], ks, ss, ps):
        if pad * 2 > k:
            raise ShapeError(f"has padding={pad}, which must be at most half of kernel_size={k}", "padding")
        n = i + 2 * pad - k
        o = (-(-n // s) if p.ceil_mode else n // s) + 1
        if p.ceil_mode and (o - 1) * s >= i + pad:  # torch drops a last window that starts in the padding
            o -= 1
        if o < 1:
            raise ShapeError(f"has kernel_size={k}, larger than its input {fmt(x.shape)} from '{x.src}'", "kernel_size")
        out.append(o)
    return p, (x.shape[0], *out)


def _pool_block(name: str, doc: str) -> BlockType:
    def module(p: PoolP) -> str:
        stride = None if p.stride is None else _lit(p.stride)
        return call(f"nn.{name}", _lit(p.kernel_size), stride=stride, padding=_lit(p.padding), ceil_mode=p.ceil_mode)

    return BlockType(name, "layers", doc, _pool, PoolP, module=module, sample={"x": (3, 9, 9)})


class AdaptiveP(Params):
    output_size: KernelArg = 1


def _adaptive(p: AdaptiveP, ins):
    x = ins["x"]
    need_rank(x, 3, "[channels, height, width]")
    return p, (x.shape[0], *pair(p.output_size))


POOLS = [
    _pool_block("MaxPool2d", "Max over each kernel window: downsamples, keeps the strongest response."),
    _pool_block("AvgPool2d", "Mean over each kernel window: downsamples smoothly."),
    BlockType(
        "AdaptiveAvgPool2d", "layers", "Average-pools any height and width down to output_size.",
        _adaptive, AdaptiveP, module=lambda p: call("nn.AdaptiveAvgPool2d", _lit(p.output_size)), sample={"x": (3, 7, 7)},
    ),
]


# ---------------------------------------------------------------- Reshaping
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


RESHAPES = [
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


# ---------------------------------------------------------------- Regularisation and norms
class DropoutP(Params):
    p: float = Field(0.5, ge=0, lt=1, description="probability of zeroing each value while training")


class BatchNormP(Params):
    num_features: Size | None = Field(None, description=INFERRED)
    eps: float = Field(1e-5, gt=0, le=1)
    momentum: float = Field(0.1, ge=0, le=1)
    affine: bool = True
    track_running_stats: bool = True


def _batchnorm(ranks: tuple[int, ...], what: str):
    def infer(p: BatchNormP, ins):
        x = ins["x"]
        need_rank(x, ranks, what)
        return infer_size(p, "num_features", x.shape[0], x, "channels"), x.shape

    return infer


def _bn_params(p: BatchNormP) -> dict[str, Shape]:
    return {"weight": (p.num_features,), "bias": (p.num_features,)} if p.affine else {}


def _bn_block(name: str, ranks, what: str, doc: str, sample: tuple[int, ...]) -> BlockType:
    return BlockType(
        name, "layers", doc, _batchnorm(ranks, what), BatchNormP, sample={"x": sample},
        module=lambda p: call(
            f"nn.{name}", p.num_features, eps=p.eps, momentum=p.momentum, affine=p.affine,
            track_running_stats=p.track_running_stats,
        ),
        param_shapes=_bn_params, parameter_names=("weight", "bias"),
    )


class LayerNormP(Params):
    normalized_shape: list[Size] | None = Field(None, min_length=1, max_length=6, description="trailing dims; " + INFERRED)
    eps: float = Field(1e-5, gt=0, le=1)
    elementwise_affine: bool = True
    bias: bool = True


def _layernorm(p: LayerNormP, ins):
    x = ins["x"]
    if p.normalized_shape is None:
        return p.model_copy(update={"normalized_shape": [x.shape[-1]]}), x.shape
    ns = tuple(p.normalized_shape)
    if x.shape[len(x.shape) - len(ns) :] != ns:
        raise ShapeError(f"normalises over {fmt(ns)} but receives {fmt(x.shape)} from '{x.src}'", "normalized_shape")
    return p, x.shape


def _ln_params(p: LayerNormP) -> dict[str, Shape]:
    ns = tuple(p.normalized_shape)
    if not p.elementwise_affine:
        return {}
    return {"weight": ns, "bias": ns} if p.bias else {"weight": ns}


NORMS = [
    BlockType(
        "Dropout", "layers", "Zeroes each value with probability p while training; identity in eval mode.",
        _same, DropoutP, module=lambda p: call("nn.Dropout", p.p),
    ),
    _bn_block("BatchNorm1d", (1, 2), "[features] or [channels, length]", "Normalises each feature over the batch; running stats in eval mode.", (8,)),
    _bn_block("BatchNorm2d", (3,), "[channels, height, width]", "Normalises each channel over batch, height and width.", (3, 5, 5)),
    BlockType(
        "LayerNorm", "layers", "Normalises each sample over its trailing dims.",
        _layernorm, LayerNormP,
        module=lambda p: call(
            "nn.LayerNorm", tuple(p.normalized_shape), eps=p.eps, elementwise_affine=p.elementwise_affine, bias=p.bias
        ),
        param_shapes=_ln_params, parameter_names=("weight", "bias"),
    ),
]


# ---------------------------------------------------------------- Embeddings and recurrent layers
class EmbeddingP(Params):
    num_embeddings: Size = 1000
    embedding_dim: Size = 64
    padding_idx: int | None = Field(None, ge=0)


def _embedding(p: EmbeddingP, ins):
    if p.padding_idx is not None and p.padding_idx >= p.num_embeddings:
        raise ShapeError(f"has padding_idx={p.padding_idx}, not below num_embeddings={p.num_embeddings}", "padding_idx")
    return p, ins["x"].shape + (p.embedding_dim,)


class RNNP(Params):
    input_size: Size | None = Field(None, description=INFERRED)
    hidden_size: Size = 64
    num_layers: int = Field(1, ge=1, le=16)
    bias: bool = True
    dropout: float = Field(0.0, ge=0, lt=1, description="between stacked layers")
    bidirectional: bool = False


def _rnn(p: RNNP, ins):
    x = ins["x"]
    need_rank(x, 2, "[sequence length, features]")
    p = infer_size(p, "input_size", x.shape[-1], x, "input features")
    if p.dropout and p.num_layers == 1:
        raise ShapeError("has dropout, which applies between stacked layers; set num_layers >= 2 or dropout 0", "dropout")
    return p, (x.shape[0], p.hidden_size * (2 if p.bidirectional else 1))


def _rnn_params(gates: int):
    def shapes(p: RNNP) -> dict[str, Shape]:
        h, dirs = p.hidden_size, 2 if p.bidirectional else 1
        out: dict[str, Shape] = {}
        for layer in range(p.num_layers):
            n_in = p.input_size if layer == 0 else h * dirs
            for sfx in ("", "_reverse")[:dirs]:
                out[f"weight_ih_l{layer}{sfx}"] = (gates * h, n_in)
                out[f"weight_hh_l{layer}{sfx}"] = (gates * h, h)
                if p.bias:
                    out[f"bias_ih_l{layer}{sfx}"] = (gates * h,)
                    out[f"bias_hh_l{layer}{sfx}"] = (gates * h,)
        return out

    return shapes


def _rnn_block(name: str, gates: int, doc: str) -> BlockType:
    return BlockType(
        name, "layers", doc, _rnn, RNNP, sample={"x": (7, 8)},
        module=lambda p: call(
            f"nn.{name}", p.input_size, p.hidden_size, num_layers=p.num_layers, bias=p.bias, batch_first=True,
            dropout=p.dropout, bidirectional=p.bidirectional,
        ),
        # (output sequence, final state)[0]: [B, L, hidden * directions]
        forward=lambda p, a, m: f"{m}({a['x']})[0]",
        param_shapes=_rnn_params(gates), parameter_names=("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
    )


SEQUENCE = [
    BlockType(
        "Embedding", "layers", "Looks up a learned vector for each integer index: [L] -> [L, embedding_dim].",
        _embedding, EmbeddingP, sample={"x": (7,)}, takes_indices=True,
        module=lambda p: call("nn.Embedding", p.num_embeddings, p.embedding_dim, padding_idx=p.padding_idx),
        forward=lambda p, a, m: f"{m}({a['x']}.long())",
        param_shapes=lambda p: {"weight": (p.num_embeddings, p.embedding_dim)}, parameter_names=("weight",),
    ),
    _rnn_block("LSTM", 4, "Long short-term memory over [length, features]; outputs the whole sequence."),
    _rnn_block("GRU", 3, "Gated recurrent unit over [length, features]; outputs the whole sequence."),
]

BLOCKS = [LINEAR, *CONVS, *POOLS, *RESHAPES, *NORMS, *SEQUENCE]
