"""Parameter initializers (CONTRACT.md `init`), each rendered as an nn.init call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from blocklab.blocks.base import Params


class NormalP(Params):
    mean: float = Field(0.0, ge=-1e6, le=1e6)
    std: float = Field(1.0, ge=0, le=1e6)


class UniformP(Params):
    a: float = Field(0.0, ge=-1e6, le=1e6)
    b: float = Field(1.0, ge=-1e6, le=1e6)


class ConstantP(Params):
    val: float = Field(0.0, ge=-1e6, le=1e6)


class GainP(Params):
    gain: float = Field(1.0, gt=0, le=100)


class KaimingP(Params):
    a: float = Field(0.0, ge=0, le=100)
    mode: Literal["fan_in", "fan_out"] = "fan_in"
    nonlinearity: Literal["relu", "leaky_relu", "linear", "tanh", "sigmoid"] = "leaky_relu"


class NoArgs(Params):
    pass


@dataclass(frozen=True)
class Init:
    fn: str
    torch_fn: str
    params: type[Params]
    min_dims: int = 0  # fan-based initializers need a matrix


INITS: dict[str, Init] = {
    i.fn: i
    for i in [
        Init("normal", "nn.init.normal_", NormalP),
        Init("uniform", "nn.init.uniform_", UniformP),
        Init("constant", "nn.init.constant_", ConstantP),
        Init("zeros", "nn.init.zeros_", NoArgs),
        Init("ones", "nn.init.ones_", NoArgs),
        Init("xavier_uniform", "nn.init.xavier_uniform_", GainP, 2),
        Init("xavier_normal", "nn.init.xavier_normal_", GainP, 2),
        Init("kaiming_uniform", "nn.init.kaiming_uniform_", KaimingP, 2),
        Init("kaiming_normal", "nn.init.kaiming_normal_", KaimingP, 2),
        Init("orthogonal", "nn.init.orthogonal_", GainP, 2),
    ]
}


def render(init: Init, args: Params, tensor: str) -> str:
    """Source of the call, e.g. nn.init.normal_(self.hidden.weight, mean=0.0, std=0.01)."""
    kwargs = [f"{k}={v!r}" for k, v in args.model_dump().items()]
    return f"{init.torch_fn}({', '.join([tensor, *kwargs])})"
