"""Sizes in block params: bounded ints, ints-or-pairs (kernel sizes, strides, padding), and
how they are read (`nd`) and written into generated source (`lit`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from blocklab.blocks.base import pair

Size = Annotated[int, Field(ge=1, le=1_000_000)]
Kernel = Annotated[int, Field(ge=1, le=1024)]
Pad = Annotated[int, Field(ge=0, le=1024)]
KernelArg = Kernel | tuple[Kernel, Kernel]
PadArg = Pad | tuple[Pad, Pad]
INFERRED = "inferred from the input when left out"


def per_dim(v, nd: int) -> tuple[int, ...]:
    return (v,) * nd if isinstance(v, int) else tuple(v)[:nd] if nd == 1 else pair(v)


def lit(v):
    return v if isinstance(v, int) else tuple(v)
