"""Tree -> plain torch source for a generated forward(). Expressions are built as Python
syntax trees from the tree's validated pieces only (torch paths from `language`, checked
identifiers, numbers) and printed with `ast.unparse`, which gets the parentheses right.
"""

from __future__ import annotations

import ast
import math

from blocklab.custom import language as L
from blocklab.custom.tree import (Assign, BinOp, Call, Expr, If, Index, Ints, Logic, Method, Num, Program, Stmt, Unary,
                                  Var, While)

_BINOP = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "//": ast.FloorDiv, "%": ast.Mod,
          "**": ast.Pow, "@": ast.MatMult}
_CMP = {"<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE, "==": ast.Eq, "!=": ast.NotEq}
_UNARY = {"-": ast.USub, "+": ast.UAdd, "not": ast.Not}


def forward_body(prog: Program, max_iter: int) -> list[str]:
    """The lines of forward(), unindented; the last one returns the result."""
    return [*_stmts(prog.body, max_iter), f"return {source(prog.result)}"]


def source(e: Expr) -> str:
    return ast.unparse(_expr(e))


def _stmts(stmts: tuple[Stmt, ...], max_iter: int) -> list[str]:
    out: list[str] = []
    for s in stmts:
        if isinstance(s, Assign):
            out.append(f"{s.name} = {source(s.value)}")
        elif isinstance(s, While):
            # A bounded while: the loop stops after max_iter rounds even if cond stays true.
            out.append(f"for _ in range({max_iter}):  # while {source(s.cond)}, at most {max_iter} rounds")
            out.append(f"    if {ast.unparse(ast.UnaryOp(ast.Not(), _expr(s.cond)))}:")
            out.append("        break")
            out += _indent(_stmts(s.body, max_iter))
        elif isinstance(s, If):
            out += _if(s, max_iter, "if")
    return out


def _if(s: If, max_iter: int, word: str) -> list[str]:
    out = [f"{word} {source(s.cond)}:", *_indent(_stmts(s.body, max_iter) or ["pass"])]
    if len(s.orelse) == 1 and isinstance(s.orelse[0], If):
        out += _if(s.orelse[0], max_iter, "elif")
    elif s.orelse:
        out += ["else:", *_indent(_stmts(s.orelse, max_iter) or ["pass"])]
    return out


def _indent(lines: list[str]) -> list[str]:
    return [f"    {x}" for x in lines]


def _expr(e: Expr) -> ast.expr:
    if isinstance(e, Num):
        return _num(e.value)
    if isinstance(e, Ints):
        return ast.Tuple([_num(v) for v in e.values], ast.Load())
    if isinstance(e, Var):
        if e.kind in ("param", "const"):  # declared tensors live on the module
            return ast.Attribute(ast.Name("self", ast.Load()), e.name, ast.Load())
        return ast.Name(e.name, ast.Load())
    if isinstance(e, Call):
        fn = L.FUNCTIONS[e.fn]
        args = [_expr(a) for a in e.args]
        if fn.keywords:
            kws = [ast.keyword(k, _expr(v)) for k, v in e.opts]
        else:
            args, kws = args + [_expr(v) for _, v in e.opts], []
        return ast.Call(_path(fn.path), args, kws)
    if isinstance(e, Method):
        return ast.Call(ast.Attribute(_expr(e.obj), e.name, ast.Load()), [], [ast.keyword(k, _expr(v)) for k, v in e.opts])
    if isinstance(e, BinOp):
        if e.op in _CMP:
            return ast.Compare(_expr(e.left), [_CMP[e.op]()], [_expr(e.right)])
        return ast.BinOp(_expr(e.left), _BINOP[e.op](), _expr(e.right))
    if isinstance(e, Unary):
        return ast.UnaryOp(_UNARY[e.op](), _expr(e.operand))
    if isinstance(e, Logic):
        return ast.BoolOp(ast.And() if e.op == "and" else ast.Or(), [_expr(v) for v in e.values])
    if isinstance(e, Index):
        items = [_index_item(i) for i in e.items]
        return ast.Subscript(_expr(e.obj), items[0] if len(items) == 1 else ast.Tuple(items, ast.Load()), ast.Load())
    raise TypeError(f"not a tree node: {type(e).__name__}")


def _index_item(i) -> ast.expr:
    if isinstance(i, tuple):
        return ast.Slice(*(None if b is None else _num(b) for b in i))
    return ast.Constant(Ellipsis if i == "..." else None) if i is None or i == "..." else _num(i)


def _num(v: int | float | bool) -> ast.expr:
    if isinstance(v, bool) or v > 0 or (v == 0 and math.copysign(1, v) > 0):
        return ast.Constant(v)
    # A negative literal as -(literal): unparse then brackets it where needed, (-2) ** x.
    return ast.UnaryOp(ast.USub(), ast.Constant(-v))


def _path(dotted: str) -> ast.expr:
    head, *rest = dotted.split(".")
    node: ast.expr = ast.Name(head, ast.Load())
    for part in rest:
        node = ast.Attribute(node, part, ast.Load())
    return node
