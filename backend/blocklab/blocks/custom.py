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
import json
import math
from functools import lru_cache
from typing import Any

import torch
from pydantic import Field

from blocklab.blocks.base import BlockType, In, Params, Port, Shape, ShapeError, fmt, module_class
from blocklab.custom import language as L
from blocklab.custom.emit import forward_body
from blocklab.custom.parse import parse
from blocklab.custom.tensors import MAX_NUMEL, ConstSpec, DeclError, ParamSpec, declare_lines, resolve
from blocklab.custom.trace import Tracer, run, shape_text
from blocklab.custom.tree import ExprError, Program, Var, is_multiline

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
                                            description="fixed tensors, saved in the state_dict unless persistent is false: "
                                                        "name -> {shape, init, persistent}",
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
            try:
                out[name] = resolve(kind, name, spec, taken)
            except DeclError as e:
                raise ShapeError(e.message, e.field) from None
            taken.add(name)
    n_const = sum(math.prod(s.shape) for s in consts.values())
    if n_const > MAX_NUMEL:  # per node; the design's values also count against BLOCKLAB_MAX_PARAMS
        raise ShapeError(f"has constants holding {n_const:,} values together; the limit is {MAX_NUMEL:,}", "constants")
    p = p.model_copy(update={"parameters": params, "constants": consts})
    try:
        prog = program(p)
    except ExprError as e:
        raise ShapeError(f"has an error in its expr: {e.describe(is_multiline(p.expr))}", "expr") from None
    for port in prog.inputs:
        if port not in ins:
            raise ShapeError(f"reads input '{port}' in its expr, but nothing is connected to port '{port}'", "expr")
    shape, error = _traced(_signature(p), tuple((k, x.shape) for k, x in ins.items()))
    if error is not None:
        raise ShapeError(error, "expr")
    return p, shape


# What a trace depends on: the code and the declared shapes, never the (perhaps long) inits.
# As a cache key it stays a few kB whatever the params hold.
Signature = tuple[str, tuple[tuple[str, Shape], ...], tuple[tuple[str, Shape], ...], int]


def _signature(p: CustomP) -> Signature:
    return (p.expr, tuple((k, tuple(s.shape)) for k, s in p.parameters.items()),
            tuple((k, tuple(s.shape)) for k, s in p.constants.items()), p.max_iter)


def _setup(sig: Signature, ins: dict[str, Shape], batch: int) -> tuple[Program, dict[str, Any]]:
    """The program, and meta tensors for its inputs ([batch, ...]), parameters and constants."""
    expr, params, consts, max_iter = sig
    meta = torch.device("meta")
    env: dict[str, Any] = {port: torch.empty((batch, *shape), device=meta) for port, shape in ins.items()}
    env |= {name: torch.empty(shape, device=meta) for name, shape in (*params, *consts)}
    return parse(expr, tuple(k for k, _ in params), tuple(k for k, _ in consts), max_iter), env


@lru_cache(maxsize=1024)
def _traced(sig: Signature, ins: tuple[tuple[str, Shape], ...]) -> tuple[Shape, str | None]:
    """(per-sample output shape, None) or ((), error). Cached: meta ops cost ~0.1 ms each,
    and a design is re-validated on every edit, usually with the same custom layers."""
    try:
        shapes = [_trace(sig, dict(ins), b) for b in TRACE_BATCHES]
    except ShapeError as e:
        return (), e.message
    if shapes[0] != shapes[1]:
        return (), (f"gives a result of shape {fmt(shapes[0])} per sample with a batch of 2 but {fmt(shapes[1])} "
                    f"with a batch of 3; the expr must treat the batch (dim 0) as a batch")
    return shapes[0], None


def _trace(sig: Signature, ins: dict[str, Shape], batch: int) -> Shape:
    prog, env = _setup(sig, ins, batch)
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


def _workspace(p: CustomP, ins: dict[str, Shape], batch: int) -> int:
    return _metered(_signature(p), tuple(ins.items()), batch)


@lru_cache(maxsize=1024)
def _metered(sig: Signature, ins: tuple[tuple[str, Shape], ...], batch: int) -> int:
    """Values the expression makes at this batch size, loops at max_iter rounds, its result
    (the node's output, counted by the estimate already) left out. Meta tensors: free."""
    prog, env = _setup(sig, dict(ins), batch)
    tracer = Tracer(cap=None, max_iter=sig[3])
    try:
        out = tracer.run(prog, env)
    except ExprError:  # fails at this batch size: so does the real forward, at the same point
        return tracer.values
    made = isinstance(out, torch.Tensor) and not isinstance(prog.result, Var)
    return tracer.values - (out.numel() if made else 0)


def class_name(p: CustomP) -> str:
    # The content hash keeps two different layers with the same name from sharing a class.
    data = p.model_dump(mode="json")
    for c in data["constants"].values():  # persistent (the default) left out: older layers keep their names
        if c.pop("persistent") is False:
            c["persistent"] = False
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha1(text.encode()).hexdigest()[:6]
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
    buffer_shapes=lambda p: {k: tuple(s.shape) for k, s in p.constants.items()},
    workspace=_workspace,
    classes=_class_source,
)

BLOCKS = [CUSTOM]
