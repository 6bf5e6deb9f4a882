"""More activations, as torch has them: SiLU, Mish, Hardswish and PReLU (learned slope)."""

from __future__ import annotations

from pydantic import Field

from blocklab.blocks.base import BlockType, In, NoParams, Params, ShapeError, call, fmt


def _same(p, ins: dict[str, In]):
    return p, ins["x"].shape


class PReLUP(Params):
    num_parameters: int = Field(1, ge=1, le=1_000_000, description="1 (one slope) or the channels (dim 1)")
    init: float = Field(0.25, ge=-10, le=10, description="the slope's starting value")


def _prelu(p: PReLUP, ins: dict[str, In]):
    x = ins["x"]
    if p.num_parameters != 1 and p.num_parameters != x.shape[0]:
        raise ShapeError(
            f"has num_parameters={p.num_parameters}, which must be 1 or the {x.shape[0]} channels (dim 1) "
            f"of {fmt(x.shape)} from '{x.src}'", "num_parameters",
        )
    return p, x.shape


def _plain(name: str, doc: str) -> BlockType:
    return BlockType(name, "activations", doc, _same, NoParams, module=lambda p: call(f"nn.{name}"))


BLOCKS = [
    _plain("SiLU", "x * sigmoid(x) (swish): smooth, used by EfficientNet and LLaMA."),
    _plain("Mish", "x * tanh(softplus(x)): a smooth, non-monotonic ReLU."),
    _plain("Hardswish", "x * relu6(x + 3) / 6: a cheap swish (MobileNetV3)."),
    BlockType(
        "PReLU", "activations", "x for x > 0, a * x otherwise, with the slope a learned (per channel or one).",
        _prelu, PReLUP, sample={"x": (3, 5)},
        module=lambda p: call("nn.PReLU", num_parameters=p.num_parameters, init=p.init),
        param_shapes=lambda p: {"weight": (p.num_parameters,)}, parameter_names=("weight",),
    ),
]
