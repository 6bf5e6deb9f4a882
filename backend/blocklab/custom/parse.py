"""Text -> allow-listed tree. Python's own parser reads the text (it runs nothing, see
syntax.py); the converter then keeps only the node kinds, names and methods of `language`
and rejects the rest with the position of the offending piece. Arithmetic on plain numbers
is folded (numbers.py), with bounds, so `9**9**9` is an error now rather than a hang later.

The text is a tiny Python subset: assignments (`h = relu(x @ w)`, `x /= 2`), `while cond:`
and `if cond: ... else: ...` blocks, and a last line that is the result (or `return ...`).
Statements are converted here; expressions in expressions.py.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

from blocklab.custom import language as L
from blocklab.custom.expressions import BINOP_NAMES, Expressions, safe_name
from blocklab.custom.syntax import pos as _pos, python_tree
from blocklab.custom.tree import Assign, ExprError, Expr, If, Pos, Program, Stmt, While, is_multiline

_STMT_NAMES = {
    ast.Import: "import", ast.ImportFrom: "import", ast.FunctionDef: "def", ast.AsyncFunctionDef: "def",
    ast.ClassDef: "class", ast.For: "for (use while)", ast.AsyncFor: "for", ast.With: "with",
    ast.AsyncWith: "with", ast.Try: "try", ast.Raise: "raise", ast.Global: "global", ast.Nonlocal: "nonlocal",
    ast.Delete: "del", ast.Assert: "assert", ast.Break: "break", ast.Continue: "continue",
    ast.AnnAssign: "an annotated assignment", ast.Match: "match",
}


@lru_cache(maxsize=512)
def parse(text: str, params: tuple[str, ...] = (), consts: tuple[str, ...] = (), max_iter: int = 100) -> Program:
    """The checked tree of `text`, whose names are the input ports, the declared `params`
    and `consts`, and its own local variables. Raises ExprError."""
    tree = python_tree(text)
    return _Converter(set(params), set(consts), max_iter, is_multiline(text)).program(tree)


@dataclass
class _Converter(Expressions):
    loops: int = 0
    loop_depth: int = 0

    # ------------------------------------------------------------------ statements
    def program(self, tree: ast.Module) -> Program:
        if not tree.body:
            raise ExprError("the expression has no code (only comments?); write one, e.g. x - x.mean()")
        *stmts, last = tree.body
        body = self.block(stmts)
        if isinstance(last, ast.Return) and last.value is not None:
            result = self.expr(last.value)
        elif isinstance(last, ast.Expr):
            result = self.expr(last.value)
        else:
            raise ExprError("the last line must be the result, e.g. x or relu(x @ weight + bias)", _pos(last))
        inputs = tuple(p for p in L.PORTS if p in self.inputs)
        return Program(body, result, inputs, self.multiline, self.loop_depth)

    def block(self, stmts: list[ast.stmt]) -> tuple[Stmt, ...]:
        out: list[Stmt] = []
        for s in stmts:
            c = self.stmt(s)
            if c is not None:
                out.append(c)
        return tuple(out)

    def stmt(self, s: ast.stmt) -> Stmt | None:
        if isinstance(s, ast.Assign):
            if len(s.targets) != 1 or not isinstance(s.targets[0], ast.Name):
                raise ExprError("assign to one plain name, e.g. h = relu(x)", _pos(s))
            value = self.expr(s.value)
            return self.assign(s.targets[0], value)
        if isinstance(s, ast.AugAssign):
            op = BINOP_NAMES.get(type(s.op))
            if op is None or not isinstance(s.target, ast.Name):
                raise ExprError("this in-place update is not allowed; write e.g. x /= 2", _pos(s))
            cur = self.name(s.target)
            value = self.binop(op, cur, self.expr(s.value), _pos(s))
            return self.assign(s.target, value)
        if isinstance(s, ast.While):
            return self.while_(s)
        if isinstance(s, ast.If):
            return self.if_(s)
        if isinstance(s, ast.Pass):
            return None
        if isinstance(s, (ast.Expr, ast.Return)):
            raise ExprError("only the last line may be the result; assign this value to a name, e.g. h = ...", _pos(s))
        what = _STMT_NAMES.get(type(s), type(s).__name__)
        raise ExprError(f"'{what}' is not allowed; use assignments, while, if and a last result line", _pos(s))

    def assign(self, target: ast.Name, value: Expr) -> Assign:
        name, pos = target.id, _pos(target)
        if name in self.params or name in self.consts:
            kind = "parameter" if name in self.params else "constant"
            raise ExprError(f"cannot assign to '{name}': it is a declared {kind}", pos)
        _check_local(name, pos)
        self.defined.add(name)  # a port assigned before it is read is a plain local
        return Assign(name, value, pos)

    def while_(self, s: ast.While) -> While:
        pos = _pos(s)
        if s.orelse:
            raise ExprError("'while ... else' is not allowed", pos)
        self.loops += 1
        self.loop_depth = max(self.loop_depth, self.loops)
        rounds = self.max_iter**self.loops
        if rounds > L.MAX_LOOP_ROUNDS:
            raise ExprError(
                f"while loops nested {self.loops} deep could run {self.max_iter}^{self.loops} = {rounds:,} rounds; "
                f"the limit is {L.MAX_LOOP_ROUNDS:,} (lower max_iter or nest less)", pos)
        cond = self.expr(s.test, cond=True)
        before = set(self.defined)
        body = self.block(s.body)
        self.maybe |= self.defined - before  # the body may run zero times
        self.defined = before
        self.loops -= 1
        return While(cond, body, pos)

    def if_(self, s: ast.If) -> If:
        cond = self.expr(s.test, cond=True)
        before = set(self.defined)
        body = self.block(s.body)
        after_body, self.defined = self.defined, set(before)
        orelse = self.block(s.orelse)
        both = after_body & self.defined
        self.maybe |= (after_body | self.defined) - both
        self.defined = both
        return If(cond, body, orelse, _pos(s))


def _check_local(name: str, pos: Pos) -> None:
    if name.startswith("_") or name.endswith("__"):
        raise ExprError(f"names may not start with '_' ('{safe_name(name)}')", pos)
    if name in L.RESERVED:
        raise ExprError(f"'{name}' is a reserved name; pick another", pos)
