"""The allow-listed tree that `parse` produces and `emit` / `trace` consume.

Every node keeps its position in the user's text so errors can point at it. Only these
node kinds exist: anything else in the text is rejected while parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class Pos:
    line: int  # 1-based
    col: int  # 1-based, in characters (the text is ASCII)

    def where(self, multiline: bool) -> str:
        return f"line {self.line}, column {self.col}" if multiline else f"column {self.col}"


def is_multiline(text: str) -> bool:
    """Whether positions need a line number as well as a column."""
    return "\n" in text.rstrip()


class ExprError(Exception):
    """A problem with the user's text, at a position (None: the text as a whole)."""

    def __init__(self, message: str, pos: Pos | None = None, hint: str | None = None):
        super().__init__(message)
        self.message, self.pos, self.hint = message, pos, hint

    def describe(self, multiline: bool) -> str:
        """'unknown name 'foo' at column 7; known names: x, y, z'"""
        # The position follows the first clause: "'is' is not allowed at column 3; use <, ..."
        head, sep, rest = self.message.partition("; ")
        at = f" at {self.pos.where(multiline)}" if self.pos else ""
        return head + at + sep + rest + (f"; {self.hint}" if self.hint else "")


# ---------------------------------------------------------------- expressions
@dataclass(frozen=True)
class Num:
    value: int | float | bool
    pos: Pos


@dataclass(frozen=True)
class Ints:
    """A literal tuple of ints: a shape or a set of dims, e.g. (-1, 4)."""

    values: tuple[int, ...]
    pos: Pos


@dataclass(frozen=True)
class Var:
    name: str
    kind: str  # "input" | "param" | "const" | "local"
    pos: Pos


@dataclass(frozen=True)
class Call:
    fn: str  # a key of language.FUNCTIONS
    args: tuple["Expr", ...]  # tensor (or number) operands
    opts: tuple[tuple[str, "Num | Ints"], ...]  # literal options (dim, keepdim, min, ...), in spec order
    pos: Pos


@dataclass(frozen=True)
class Method:
    name: str  # a key of language.METHODS
    obj: "Expr"
    opts: tuple[tuple[str, "Num | Ints"], ...]
    pos: Pos


@dataclass(frozen=True)
class BinOp:
    op: str  # a key of language.BINOPS or language.COMPARE
    left: "Expr"
    right: "Expr"
    pos: Pos


@dataclass(frozen=True)
class Unary:
    op: str  # "-", "+" or "not"
    operand: "Expr"
    pos: Pos


@dataclass(frozen=True)
class Logic:
    """`a and b` / `a or b`: only in while and if conditions, on single values."""

    op: str
    values: tuple["Expr", ...]
    pos: Pos


@dataclass(frozen=True)
class Index:
    """`x[:, 0]`, `x[..., :k]`, `x[:, None]`: literal ints, slices, `...` and None (a new
    axis) only, never touching the batch dimension (dim 0)."""

    obj: "Expr"
    items: tuple["int | None | str | tuple[int | None, int | None, int | None]", ...]  # "..." = Ellipsis; a tuple = a slice
    pos: Pos


Expr = Union[Num, Ints, Var, Call, Method, BinOp, Unary, Logic, Index]


# ---------------------------------------------------------------- statements
@dataclass(frozen=True)
class Assign:
    name: str
    value: Expr
    pos: Pos


@dataclass(frozen=True)
class While:
    cond: Expr
    body: tuple["Stmt", ...]
    pos: Pos


@dataclass(frozen=True)
class If:
    cond: Expr
    body: tuple["Stmt", ...]
    orelse: tuple["Stmt", ...]
    pos: Pos


Stmt = Union[Assign, While, If]


@dataclass(frozen=True)
class Program:
    body: tuple[Stmt, ...]
    result: Expr
    inputs: tuple[str, ...]  # ports the text reads, in port order
    multiline: bool
    loop_depth: int  # deepest nesting of while loops
