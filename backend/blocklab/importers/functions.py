"""torch functions and tensor methods seen by torch.fx -> block nodes.

Functions that have an nn.Module twin with the same signature (F.relu and nn.ReLU,
F.max_pool2d and nn.MaxPool2d, ...) are rebuilt as that module and mapped through the
registry like any layer (`importers.layers`), so their params come from the same checked
path. The rest (arithmetic, cat, reshaping, reductions) is mapped here, each to the block
that computes it or to a one-line CustomLayer expression. Anything else is Unmapped.
"""

from __future__ import annotations

import inspect
import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import fx, nn
from torch.nn import functional as F

from blocklab.blocks.base import In
from blocklab.importers.layers import Mismatch, block_for, doc_params, params_for


class Unmapped(Exception):
    """No block computes this call; the message says why."""


@dataclass
class Spec:
    """A block node to emit: its type, document params and the fx nodes feeding its ports."""

    type: str
    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[fx.Node] = field(default_factory=list)


PASS = object()  # the call returns its input unchanged (x.contiguous(), dropout in eval, ...)

_TWINS: dict[Any, type[nn.Module]] = {
    F.relu: nn.ReLU, torch.relu: nn.ReLU, "relu": nn.ReLU,
    F.gelu: nn.GELU, F.leaky_relu: nn.LeakyReLU, F.elu: nn.ELU, F.softplus: nn.Softplus,
    torch.sigmoid: nn.Sigmoid, F.sigmoid: nn.Sigmoid, "sigmoid": nn.Sigmoid,
    torch.tanh: nn.Tanh, F.tanh: nn.Tanh, "tanh": nn.Tanh,
    F.softmax: nn.Softmax, torch.softmax: nn.Softmax, "softmax": nn.Softmax,
    F.log_softmax: nn.LogSoftmax, torch.log_softmax: nn.LogSoftmax, "log_softmax": nn.LogSoftmax,
    F.max_pool2d: nn.MaxPool2d, F.avg_pool2d: nn.AvgPool2d, F.adaptive_avg_pool2d: nn.AdaptiveAvgPool2d,
}
# Modules without parameters whose block is functional (no torch constructor to derive from).
MODULES: dict[type[nn.Module], str] = {nn.Identity: "Identity"}


class Call:
    """One fx call with the example values seen when the module ran."""

    def __init__(self, node: fx.Node, values: dict[fx.Node, Any]):
        self.node, self.values = node, values
        self.args, self.kwargs = list(node.args), dict(node.kwargs)

    def value(self, a: Any) -> Any:
        return self.values[a] if isinstance(a, fx.Node) else a

    @property
    def out(self) -> Any:
        return self.values[self.node]

    def arg(self, i: int, name: str, default: Any = None) -> Any:
        if i < len(self.args):
            return self.args[i]
        return self.kwargs.get(name, default)

    def const(self, i: int, name: str, default: Any = None) -> Any:
        """A constant argument. Sizes computed in forward() (x.size(1)) take their example
        value; the import is checked at a second batch size, so a baked-in batch is caught."""
        v = fx.node.map_arg(self.arg(i, name, default), lambda n: self.values[n])
        if any(isinstance(x, torch.Tensor) for x in torch.utils._pytree.tree_leaves(v)):
            raise Unmapped(f"its argument '{name}' is a tensor; only constants can become block params")
        return v

    def tensor(self, a: Any) -> fx.Node:
        if not isinstance(a, fx.Node) or not isinstance(self.values.get(a), torch.Tensor):
            raise Unmapped("takes a value that is not a tensor computed in forward()")
        return a

    def shape(self, a: fx.Node) -> tuple[int, ...]:
        return tuple(self.values[a].shape[1:])  # per sample: the batch is dim 0

    def only(self, allowed: set[str], n_args: int) -> None:
        extra = [k for k, v in self.kwargs.items() if k not in allowed and v not in (None, False)]
        if extra or len(self.args) > n_args:
            raise Unmapped(f"uses argument '{extra[0] if extra else len(self.args)}', which no block takes")


def _twin(c: Call, cls: type[nn.Module]) -> Spec:
    x = c.tensor(c.args[0])
    args = [c.const(i + 1, f"#{i + 1}") for i in range(len(c.args) - 1)]
    accepts = inspect.signature(cls).parameters
    # fx spells out some defaults (F.softmax's _stacklevel=3, dtype=None): those change nothing.
    kwargs = {k: c.const(len(c.args) + 1, k) for k, v in c.kwargs.items()
              if k in accepts or not (k.startswith("_") or v is None)}
    try:
        inspect.signature(cls).bind(*args, **kwargs)
        module = cls(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise Unmapped(f"its arguments do not fit nn.{cls.__name__}: {e}") from None
    block = block_for(module)
    try:
        p = params_for(block, module)
    except Mismatch as e:
        raise Unmapped(str(e)) from None
    return Spec(block.name, doc_params(block, p, {"x": In(c.shape(x), x.name)}), [x])


def _number(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise Unmapped(f"combines a tensor with {v!r}; only finite numbers can be constants")
    return repr(v) if v >= 0 else f"({v!r})"


def _custom(expr: str, name: str, inputs: list[fx.Node]) -> Spec:
    return Spec("CustomLayer", {"expr": expr, "name": name}, inputs)


def _binary(block: str | None, sym: str, name: str) -> Callable[[Call], Spec]:
    def handle(c: Call) -> Spec:
        c.only(set(), 2)
        a, b = c.args
        ta, tb = (isinstance(v, fx.Node) and isinstance(c.values.get(v), torch.Tensor) for v in (a, b))
        if ta and tb:
            if block is not None:
                return Spec(block, {}, [a, b])
            return _custom(f"x {sym} y", name, [a, b])
        if not (ta or tb):
            raise Unmapped("computes on values that are not tensors")
        t, k = (a, c.value(b)) if ta else (b, c.value(a))
        if sym == "*":
            factor = float(_number(k).strip("()"))
            return Spec("Scale", {"factor": factor}, [t])
        return _custom(f"x {sym} {_number(k)}" if ta else f"{_number(k)} {sym} x", name, [t])

    return handle


def _cat(c: Call) -> Spec:
    c.only({"dim"}, 2)
    parts = [c.tensor(x) for x in c.args[0]]
    dim = c.const(1, "dim", 0)
    if not 2 <= len(parts) <= 4:
        raise Unmapped(f"joins {len(parts)} tensors; the Concat block joins 2 to 4")
    if dim == 0 or dim == -(len(c.shape(parts[0])) + 1):
        raise Unmapped("concatenates along the batch (dim 0)")
    return Spec("Concat", {"dim": dim}, parts)


def _flatten(default_start: int) -> Callable[[Call], Spec]:
    def handle(c: Call) -> Spec:
        c.only({"start_dim", "end_dim"}, 3)
        x = c.tensor(c.args[0])
        start, end = c.const(1, "start_dim", default_start), c.const(2, "end_dim", -1)
        if start == 0 or start == -(len(c.shape(x)) + 1):
            raise Unmapped("flattens the batch dim too; only dims from 1 on can be flattened by a block")
        return Spec("Flatten", {"start_dim": start, "end_dim": end}, [x])

    return handle


def _reshape(c: Call) -> Spec:
    x = c.tensor(c.args[0])
    out = c.out
    # The target shape may be computed (x.size(0), -1): the example output says what it was.
    if out.dim() == 0 or out.shape[0] != c.values[x].shape[0]:
        raise Unmapped("changes the batch dim; a Reshape block keeps the batch and reshapes each sample")
    return Spec("Reshape", {"shape": _written(c, x) or list(out.shape[1:])}, [x])


def _written(c: Call, x: fx.Node) -> list[int] | None:
    """The shape as written after the batch, -1 kept: x.view(x.size(0), -1) -> [-1]; None when
    it is not written that way (the example's output shape is used instead)."""
    try:
        dims = [c.const(i, f"#{i}") for i in range(1, len(c.args))] if c.args[1:] else [c.const(1, "shape")]
    except Unmapped:
        return None
    if len(dims) == 1 and isinstance(dims[0], (tuple, list, torch.Size)):
        dims = list(dims[0])
    batch = c.values[x].shape[0]
    if len(dims) < 2 or dims[0] != batch or not all(isinstance(d, int) and (d > 0 or d == -1) for d in dims[1:]):
        return None
    return list(dims[1:])


def _reduce(block: str) -> Callable[[Call], Spec]:
    def handle(c: Call) -> Spec:
        c.only({"dim", "keepdim"}, 3)
        x = c.tensor(c.args[0])
        dim = c.const(1, "dim", None)
        if dim is None:
            raise Unmapped("reduces the whole tensor, batch included; a block reduces per sample (give dim)")
        dims = [dim] if isinstance(dim, int) else list(dim)
        return Spec(block, {"dims": dims, "keepdim": bool(c.const(2, "keepdim", False))}, [x])

    return handle


def _dropout(c: Call) -> Spec | object:
    x = c.tensor(c.args[0])
    if not c.const(2, "training", True):
        return PASS
    return Spec("Dropout", {"p": float(c.const(1, "p", 0.5))}, [x])


_HANDLERS: dict[Any, Callable[[Call], Any]] = {
    operator.add: _binary("Add", "+", "Add"), torch.add: _binary("Add", "+", "Add"), "add": _binary("Add", "+", "Add"),
    operator.iadd: _binary("Add", "+", "Add"),
    operator.mul: _binary("Multiply", "*", "Mul"), torch.mul: _binary("Multiply", "*", "Mul"),
    "mul": _binary("Multiply", "*", "Mul"), operator.imul: _binary("Multiply", "*", "Mul"),
    operator.sub: _binary(None, "-", "Sub"), torch.sub: _binary(None, "-", "Sub"), "sub": _binary(None, "-", "Sub"),
    operator.truediv: _binary(None, "/", "Div"), torch.div: _binary(None, "/", "Div"), "div": _binary(None, "/", "Div"),
    operator.pow: _binary(None, "**", "Pow"),
    operator.matmul: _binary("MatMul", "@", "MatMul"), torch.matmul: _binary("MatMul", "@", "MatMul"),
    "matmul": _binary("MatMul", "@", "MatMul"),
    torch.cat: _cat, torch.concat: _cat,
    torch.flatten: _flatten(0), "flatten": _flatten(0),
    "view": _reshape, "reshape": _reshape, torch.reshape: _reshape,
    torch.sum: _reduce("Sum"), "sum": _reduce("Sum"), torch.mean: _reduce("Mean"), "mean": _reduce("Mean"),
    F.dropout: _dropout,
    "contiguous": lambda c: PASS, "clone": lambda c: PASS,
}


def describe(node: fx.Node) -> str:
    """The op as a person reads it: 'call_function torch.nn.functional.gelu', 'call_method view'."""
    t = node.target
    if callable(t):
        mod = getattr(t, "__module__", None) or ""
        name = f"{mod}.{getattr(t, '__name__', repr(t))}".lstrip(".")
        return f"{node.op} {name.replace('torch._C._nn.', 'torch.nn.functional.').replace('_operator.', 'operator.')}"
    return f"{node.op} {t}"


def map_call(node: fx.Node, values: dict[fx.Node, Any]) -> Spec | object:
    """The block for one call_function / call_method node, PASS, or Unmapped."""
    key = node.target
    c = Call(node, values)
    if key in _TWINS:
        return _twin(c, _TWINS[key])
    if key in _HANDLERS:
        return _HANDLERS[key](c)
    from blocklab.importers.functions_index import HANDLERS as INDEXING  # it builds on this module's Call

    if key in INDEXING:
        return INDEXING[key](c)
    raise Unmapped("no block type computes it")
