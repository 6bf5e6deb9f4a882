"""The graph ends: Input (a forward argument) and Output (a returned value)."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field

from blocklab.blocks.base import BlockType, In, Params, Port, ShapeError, fmt

Dim = Annotated[int, Field(ge=1, le=1_000_000)]


class InputP(Params):
    shape: list[Dim] | None = Field(
        None, min_length=1, max_length=6,
        description="shape of one sample, without the batch dimension; a block's Input may leave it out",
    )


def _input(p: InputP, ins: dict[str, In]):
    # Inside a composite block the instance feeds the Input through the pseudo port "x".
    given = ins.get("x")
    if p.shape is None:
        if given is None:
            raise ShapeError("needs a shape, e.g. [20] for 20 features or [1, 8, 8] for an image", "shape")
        return p.model_copy(update={"shape": list(given.shape)}), given.shape
    if math.prod(p.shape) > 100_000_000:
        raise ShapeError(f"has shape {fmt(tuple(p.shape))}, over 100M values per sample", "shape")
    if given is not None and tuple(p.shape) != given.shape:
        raise ShapeError(f"declares shape {fmt(tuple(p.shape))} but receives {fmt(given.shape)} from '{given.src}'", "shape")
    return p, tuple(p.shape)


def _output(p, ins: dict[str, In]):
    return p, ins["x"].shape


INPUT = BlockType(
    "Input", "io", "A model input: one sample's shape, without the batch dimension.",
    _input, InputP, ports=(), role="input", forward=lambda p, a, m: "", sample={},
)
OUTPUT = BlockType(
    "Output", "io", "A model output: the value forward() returns.",
    _output, ports=(Port("x"),), role="output", forward=lambda p, a, m: a["x"],
)

BLOCKS = [INPUT, OUTPUT]
