"""Element-wise activations and the (log-)softmax, as nn modules (as nn.Sequential uses them)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from blocklab.blocks.base import BlockType, In, NoParams, Params, call, torch_dim


def _same(p, ins: dict[str, In]):
    return p, ins["x"].shape


class LeakyReLUP(Params):
    negative_slope: float = Field(0.01, ge=0, le=10)


class GELUP(Params):
    approximate: Literal["none", "tanh"] = "none"


class ELUP(Params):
    alpha: float = Field(1.0, gt=0, le=100)


class SoftplusP(Params):
    beta: float = Field(1.0, gt=0, le=100)
    threshold: float = Field(20.0, gt=0, le=1000)


class DimP(Params):
    dim: int = Field(-1, ge=-8, le=8, description="torch dim, batch included (-1 = last)")


def _softmax(p: DimP, ins: dict[str, In]):
    x = ins["x"]
    torch_dim(p.dim, len(x.shape) + 1, x.src)
    return p, x.shape


def _simple(name: str, doc: str, params=NoParams, infer=_same) -> BlockType:
    fields = list(params.model_fields)
    return BlockType(
        name, "activations", doc, infer, params,
        module=lambda p: call(f"nn.{name}", **{f: getattr(p, f) for f in fields}),
    )


BLOCKS = [
    _simple("ReLU", "max(x, 0): the default hidden activation."),
    _simple("LeakyReLU", "x for x > 0, negative_slope * x otherwise: never fully dead.", LeakyReLUP),
    _simple("GELU", "x * Phi(x): the smooth ReLU used by transformers.", GELUP),
    _simple("ELU", "x for x > 0, alpha * (exp(x) - 1) otherwise.", ELUP),
    _simple("Sigmoid", "1 / (1 + exp(-x)): squashes to (0, 1)."),
    _simple("Tanh", "tanh(x): squashes to (-1, 1)."),
    _simple("Softplus", "log(1 + exp(beta * x)) / beta: a smooth ReLU.", SoftplusP),
    _simple("Softmax", "exp(x) / sum(exp(x)) along dim: probabilities that sum to 1.", DimP, _softmax),
    _simple("LogSoftmax", "log(softmax(x)) along dim, computed stably.", DimP, _softmax),
]
