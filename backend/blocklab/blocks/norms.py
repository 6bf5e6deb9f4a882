"""Regularisation and normalisation: Dropout, BatchNorm1d/2d and LayerNorm."""

from __future__ import annotations

from pydantic import Field

from blocklab.blocks.base import BlockType, In, Params, Shape, ShapeError, call, fmt, infer_size, need_rank
from blocklab.blocks.sizes import INFERRED, Size


def _same(p, ins: dict[str, In]):
    return p, ins["x"].shape


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


BLOCKS = [
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
