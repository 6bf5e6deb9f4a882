"""The allow-list: every function, method and operator the expression language knows, and
the torch callable each one becomes. `emit` writes the dotted torch path; `trace` calls the
very same callable (resolved from that path), so the two cannot disagree.

Values are ordinary torch tensors *with* the batch dimension first ([B, ...]), exactly as in
D2L's hand-written forward(): `x.mean()` averages over the whole batch, `x.sum(dim=1)` over
each sample's features.
"""

from __future__ import annotations

import builtins
import keyword
import operator
from dataclasses import dataclass
from functools import reduce
from typing import Any, Callable

import torch
from torch import nn

PORTS = ("x", "y", "z")  # input ports; x is required, y and z optional


@dataclass(frozen=True)
class Opt:
    """A literal option after the operands: dim=1, keepdim=True, min=0.0, a shape, ..."""

    name: str
    kind: str  # "int" | "ints" (an int or a tuple of ints) | "bool" | "number"
    required: bool = False
    default: Any = None  # written out even when left out (softmax's dim)
    keyword_only: bool = False  # norm(x, 1) would be torch's order p=1, not a dim: require dim=1


@dataclass(frozen=True)
class Fn:
    path: str  # dotted torch path, e.g. "torch.relu"
    operands: int  # leading tensor (or number) arguments
    opts: tuple[Opt, ...] = ()
    keywords: bool = True  # options written as dim=1 (True) or positionally (False)
    varargs: bool = False  # reshape(x, 4, 5) as well as reshape(x, (4, 5))
    one_of: bool = False  # at least one option must be given (clamp)

    @property
    def run(self) -> Callable[..., Any]:
        return resolve(self.path)


def resolve(path: str) -> Callable[..., Any]:
    head, *rest = path.split(".")
    assert head == "torch", path
    return reduce(getattr, rest, torch)


REDUCE = (Opt("dim", "ints"), Opt("keepdim", "bool"))
NORM = (Opt("dim", "ints", keyword_only=True), Opt("keepdim", "bool", keyword_only=True))  # the 2-norm


def _unary(path: str) -> Fn:
    return Fn(path, 1)


FUNCTIONS: dict[str, Fn] = {
    "relu": _unary("torch.relu"),
    "sigmoid": _unary("torch.sigmoid"),
    "tanh": _unary("torch.tanh"),
    "softplus": _unary("torch.nn.functional.softplus"),
    "exp": _unary("torch.exp"),
    "log": _unary("torch.log"),
    "abs": _unary("torch.abs"),
    "sqrt": _unary("torch.sqrt"),
    "sum": Fn("torch.sum", 1, REDUCE),
    "mean": Fn("torch.mean", 1, REDUCE),
    # amax/amin: a tensor, never torch.max's (values, indices) pair.
    "max": Fn("torch.amax", 1, REDUCE),
    "min": Fn("torch.amin", 1, REDUCE),
    "norm": Fn("torch.linalg.vector_norm", 1, NORM),
    "matmul": Fn("torch.matmul", 2),
    "softmax": Fn("torch.softmax", 1, (Opt("dim", "int", default=-1),)),
    "where": Fn("torch.where", 3),
    "clamp": Fn("torch.clamp", 1, (Opt("min", "number"), Opt("max", "number")), one_of=True),
    "reshape": Fn("torch.reshape", 1, (Opt("shape", "ints", required=True),), keywords=False, varargs=True),
    "transpose": Fn("torch.transpose", 1, (Opt("dim0", "int", required=True), Opt("dim1", "int", required=True)),
                    keywords=False),
}

# Tensor methods in D2L's spelling: x.abs().sum(). Each name is looked up on the tensor only
# because it is a key here.
METHODS: dict[str, tuple[Opt, ...]] = {"abs": (), "sum": REDUCE, "mean": REDUCE, "norm": NORM}

BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "@": operator.matmul,
}
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}

# Names the generated forward() relies on, and every Python builtin (the loop uses range).
_GENERATED = {"self", "torch", "nn", "F", "math"}
RESERVED = frozenset(_GENERATED | set(dir(builtins)) | set(keyword.kwlist) | set(FUNCTIONS) | set(METHODS))
# Declared tensors become self.<name>: they must not shadow nn.Module's own attributes.
MODULE_ATTRS = frozenset(n for n in dir(nn.Module()) if not n.startswith("_"))

# Bounds on what one expression may cost to parse, check and run.
MAX_CHARS = 4000
MAX_NODES = 400  # Python syntax-tree nodes
MAX_DEPTH = 64  # nesting of brackets and of the syntax tree (a + b + c nests too)
MAX_ITER = 1000  # per while loop (params.max_iter, default 100)
MAX_LOOP_ROUNDS = 10_000  # max_iter ** (nesting of while loops): rounds one forward may run
MAX_INT = 2**53  # numeric literals and folded constants stay exact in a float
MAX_TRACE_NUMEL = 2**26  # any value while tracing with a batch of 2
