"""What a block type is. Each type is defined once, as one `BlockType`, and everything
else (validation, shape inference, code generation, the catalog) is derived from it.

Shapes are per sample, without the batch dimension: a [B, 128] activation is (128,).
Dims named in params (Concat.dim, Softmax.dim, ...) are torch dims *with* the batch at 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Shape = tuple[int, ...]
# What a block is to the designer (GET /api/blocks): a graph end, an ordinary layer, or your own code.
Role = Literal["input", "output", "layer", "custom"]


class ShapeError(Exception):
    """A block cannot accept its inputs. `message` reads after "<Type> '<id>' "."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Params(BaseModel):
    """Base of every params model: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class NoParams(Params):
    pass


@dataclass(frozen=True)
class In:
    """One connected input: its per-sample shape and the node it comes from."""

    shape: Shape
    src: str


@dataclass(frozen=True)
class Port:
    name: str
    optional: bool = False


@dataclass(frozen=True)
class Outputs:
    """The results of a block that gives several (an LSTM's sequence, h_n and c_n). An edge picks
    one by its `source_port`; an edge without one takes the output that the param `param` names
    (`returns`), which is also what `infer` and `forward` give.

    shapes(params, inputs) -> {name: per-sample shape} of every output, params resolved;
    call(params, args, mod) -> source of the whole result (a tuple, say);
    pick(params, result, name) -> source of one output, given the variable holding the result."""

    names: tuple[str, ...]
    shapes: Callable[[Any, dict[str, In]], dict[str, Shape]]
    call: Callable[[Any, dict[str, str], str | None], str]
    pick: Callable[[Any, str, str], str]
    param: str = "returns"


def call(fn: str, *args: Any, **kwargs: Any) -> str:
    """Render `fn(arg, ..., key=value)` as Python source; values must be plain literals."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{fn}({', '.join(parts)})"


def module_class(name: str, doc: str, init: list[str], args: list[str], body: list[str]) -> str:
    """Source of `class <name>(nn.Module)` with the given __init__ and forward lines."""
    lines = [
        f"class {name}(nn.Module):",
        f'    """{doc}"""',
        "",
        "    def __init__(self):",
        "        super().__init__()",
        *(f"        {x}" if x else "" for x in init),
        "",
        f"    def forward({', '.join(['self', *args])}):",
        *(f"        {x}" for x in body),
    ]
    return "\n".join(lines) + "\n"


def _module_call(p: Any, args: dict[str, str], mod: str | None) -> str:
    return f"{mod}({args['x']})"


def _no_params(p: Any) -> dict[str, Shape]:
    return {}


@dataclass(frozen=True)
class BlockType:
    """One block type.

    infer(params, inputs) -> (params with inferred sizes filled in, output shape)
        Pure Python on shape tuples; raises ShapeError. Fast: no tensors.
    module(params) -> source of the torch constructor (e.g. "nn.Linear(128, 10)"), or
        None for a purely functional block (Add, Reshape, ...).
    forward(params, args, mod) -> source of the output expression, given the variable
        name feeding each port and the module reference.
    param_shapes(params) -> {parameter name: shape}, matching the module's parameters.
    role: "input" / "output" for the graph ends, "custom" for user code, else "layer".
    buffer_shapes, workspace: what else the block holds in memory (see the fields).
    """

    name: str
    category: str
    doc: str
    infer: Callable[[Any, dict[str, In]], tuple[Any, Shape]]
    params: type[Params] = NoParams
    ports: tuple[Port, ...] = (Port("x"),)
    module: Callable[[Any], str] | None = None
    forward: Callable[[Any, dict[str, str], str | None], str] = _module_call
    param_shapes: Callable[[Any], dict[str, Shape]] = _no_params
    role: Role = "layer"
    # Parameter names the block can have (for the inspector's init form).
    parameter_names: tuple[str, ...] = ()
    # Extra classes the generated source needs: params -> {class name: source}.
    classes: Callable[[Any], dict[str, str]] | None = None
    # Takes integer indices (Embedding): only an Input can feed it, since layers make reals.
    takes_indices: bool = False
    # A typical input per port, used by the catalog and the registry-wide tests.
    sample: dict[str, Shape] = field(default_factory=lambda: {"x": (8,)})
    # For the memory estimate (graph/memory.py), beyond parameters and the node's output:
    # buffer_shapes(params) -> {buffer name: shape} (constants), held once per module;
    # workspace(params, input shapes, batch) -> values of the intermediates one forward keeps
    # for the backward pass (a CustomLayer's expression), or None when there are none.
    buffer_shapes: Callable[[Any], dict[str, Shape]] = _no_params
    workspace: Callable[[Any, dict[str, Shape], int], int] | None = None
    # Several named results an edge can pick (see Outputs); None: one output.
    outputs: Outputs | None = None

    @property
    def end(self) -> str | None:
        """"input" or "output" for a graph end (a forward argument or result), None for the rest."""
        return self.role if self.role in ("input", "output") else None

    def count(self, params: Any) -> int:
        return sum(math.prod(s) for s in self.param_shapes(params).values())


def fmt(shape: Shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def pair(v: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def need_rank(x: In, rank: int | tuple[int, ...], what: str) -> None:
    ranks = (rank,) if isinstance(rank, int) else rank
    if len(x.shape) not in ranks:
        raise ShapeError(f"expects {what} but receives {fmt(x.shape)} from '{x.src}'")


def infer_size(p: Params, name: str, got: int, x: In, what: str) -> Params:
    """Fill in an input size left out by the user, or check the one given."""
    given = getattr(p, name)
    if given is None:
        return p.model_copy(update={name: got})
    if given != got:
        raise ShapeError(f"expects {given} {what} but receives {got} from '{x.src}'", name)
    return p


def torch_dim(dim: int, ndim_with_batch: int, src: str, field: str = "dim", allow_batch: bool = False) -> int:
    """Normalise a torch dim (batch at 0) against a per-sample shape; return it >= 0."""
    d = dim + ndim_with_batch if dim < 0 else dim
    if not 0 <= d < ndim_with_batch:
        raise ShapeError(
            f"has {field}={dim}, out of range for a {ndim_with_batch}-d tensor (batch included) from '{src}'", field
        )
    if d == 0 and not allow_batch:
        raise ShapeError(f"has {field}={dim}, which is the batch dimension; use a dim from 1 on", field)
    return d
