"""The CustomLayer block: a node whose forward() is a small program in the safe expression
language, with its own declared parameters and constants. Each distinct CustomLayer gets
its own readable nn.Module class in the generated source (via the `classes` hook).

    {"id": "0", "type": "CustomLayer", "params": {
      "expr": "relu(x @ weight + bias)",
      "parameters": {"weight": {"shape": [20, 10], "init": "randn"}, "bias": {"shape": [10]}},
      "constants": {}, "max_iter": 100, "name": "MyLinear"}}
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache
from typing import Any

import torch
from pydantic import Field

from blocklab.blocks.base import BlockType, In, Params, Port, Shape, ShapeError, fmt, module_class
from blocklab.custom import language as L
from blocklab.custom.emit import forward_body
from blocklab.custom.parse import parse
from blocklab.custom.tensors import MAX_NUMEL, ConstSpec, ParamSpec, declare_lines, resolve
from blocklab.custom.trace import run, shape_text
from blocklab.custom.tree import ExprError, Program, is_multiline

TRACE_BATCHES = (2, 3)  # two batch sizes: the result must follow the batch, whatever it is


class CustomP(Params):
    expr: str = Field(
        # The length is checked by the parser, whose error reads better than pydantic's.
        "x - x.mean()", json_schema_extra={"maxLength": L.MAX_CHARS, "format": "code"},
        description="torch-like code over the inputs x, y, z ([batch, ...]); the last line is the result")
    parameters: dict[str, ParamSpec] = Field(default_factory=dict, max_length=16,
                                             description="trained tensors: name -> {shape, init, trainable}",
                                             json_schema_extra={"x-state-keys": "parameter"})
    constants: dict[str, ConstSpec] = Field(default_factory=dict, max_length=16,
                                            description="fixed tensors, saved in the state_dict: name -> {shape, init}",
                                            json_schema_extra={"x-state-keys": "buffer"})
    max_iter: int = Field(100, ge=1, le=L.MAX_ITER, description="rounds a while loop may run at most")
    name: str = Field("CustomLayer", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$", description="class name in exported code")


def program(p: CustomP) -> Program:
    return parse(p.expr, tuple(p.parameters), tuple(p.constants), p.max_iter)


def _infer(p: CustomP, ins: dict[str, In]) -> tuple[CustomP, Shape]:
    taken: set[str] = set()
    params, consts = {}, {}
    for kind, decl, out in (("parameters", p.parameters, params), ("constants", p.constants, consts)):
        for name, spec in decl.items():
            out[name] = resolve(kind, name, spec, taken)
            taken.add(name)
    n_const = sum(math.prod(s.shape) for s in consts.values())
    if n_const > MAX_NUMEL:  # parameters count against the design's limit; constants against this one
        raise ShapeError(f"has constants holding {n_const:,} values together; the limit is {MAX_NUMEL:,}", "constants")
    p = p.model_copy(update={"parameters": params, "constants": consts})
    try:
        prog = program(p)
    except ExprError as e:
        raise ShapeError(f"has an error in its expr: {e.describe(is_multiline(p.expr))}", "expr") from None
    for port in prog.inputs:
        if port not in ins:
            raise ShapeError(f"reads input '{port}' in its expr, but nothing is connected to port '{port}'", "expr")
    shape, error = _traced(p.model_dump_json(), tuple((k, x.shape) for k, x in ins.items()))
    if error is not None:
        raise ShapeError(error, "expr")
    return p, shape


@lru_cache(maxsize=1024)
def _traced(params_json: str, ins: tuple[tuple[str, Shape], ...]) -> tuple[Shape, str | None]:
    """(per-sample output shape, None) or ((), error). Cached: meta ops cost ~0.1 ms each,
    and a design is re-validated on every edit, usually with the same custom layers."""
    p = CustomP.model_validate_json(params_json)
    prog = program(p)
    try:
        shapes = [_trace(p, prog, dict(ins), b) for b in TRACE_BATCHES]
    except ShapeError as e:
        return (), e.message
    if shapes[0] != shapes[1]:
        return (), (f"gives a result of shape {fmt(shapes[0])} per sample with a batch of 2 but {fmt(shapes[1])} "
                    f"with a batch of 3; the expr must treat the batch (dim 0) as a batch")
    return shapes[0], None


def _trace(p: CustomP, prog: Program, ins: dict[str, Shape], batch: int) -> Shape:
    meta = torch.device("meta")
    env: dict[str, Any] = {port: torch.empty((batch, *shape), device=meta) for port, shape in ins.items()}
    for decl in (p.parameters, p.constants):
        env |= {name: torch.empty(tuple(s.shape), device=meta) for name, s in decl.items()}
    try:
        out = run(prog, env)
    except ExprError as e:
        also = "" if batch == TRACE_BATCHES[0] else f" (with a batch of {batch}: the expr must work for any batch size)"
        raise ShapeError(f"has a shape error in its expr: {e.describe(prog.multiline)}{also}", "expr") from None
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        raise ShapeError(f"has an expr whose result is {shape_text(out)}; it must be a float tensor "
                         f"(turn a comparison into numbers with where(c, 1.0, 0.0))", "expr")
    if out.dim() == 0 or out.shape[0] != batch:
        raise ShapeError(
            f"has an expr whose result is {shape_text(out)} for a batch of {batch}: it must keep the batch as dim 0. "
            f"Reduce per sample, e.g. x.sum(dim=1) rather than x.sum()", "expr")
    return tuple(out.shape[1:])


def class_name(p: CustomP) -> str:
    # The content hash keeps two different layers with the same name from sharing a class.
    digest = hashlib.sha1(p.model_dump_json().encode()).hexdigest()[:6]
    return f"{p.name}_{digest}"


def _class_source(p: CustomP) -> dict[str, str]:
    prog = program(p)
    cls = class_name(p)
    decl = declare_lines(p.parameters, p.constants)
    what = [f"{k} {list(s.shape)}" for k, s in p.parameters.items()] + [f"{k} {list(s.shape)} (constant)"
                                                                        for k, s in p.constants.items()]
    doc = "A CustomLayer" + (f" with {', '.join(what)}" if what else "") + "."
    return {cls: module_class(cls, doc, decl, list(prog.inputs), forward_body(prog, p.max_iter))}


def _forward(p: CustomP, args: dict[str, str], mod: str | None) -> str:
    return f"{mod}({', '.join(args[port] for port in program(p).inputs)})"


CUSTOM = BlockType(
    "CustomLayer", "custom",
    "Your own code: an expression over x (and y, z) with declared parameters and constants, plus while/if.",
    _infer, CustomP, role="custom",
    ports=(Port("x"), Port("y", optional=True), Port("z", optional=True)),
    module=lambda p: f"{class_name(p)}()",
    forward=_forward,
    param_shapes=lambda p: {k: tuple(s.shape) for k, s in p.parameters.items()},
    classes=_class_source,
)

BLOCKS = [CUSTOM]
