"""Argument expressions: `{"expr": "channels * 4"}` in a block's params, `when`, `repeat`.

A tiny, safe language over a block's arguments (and `i`, a repeat's copy index): numbers,
strings, booleans, the names in scope, + - * / // % **, comparisons, and/or/not,
`a if c else b`, and the calls min/max/abs/int/round. Python's own parser reads the text
(bounded in length first, so no input can exhaust it); the tree is checked node by node
against that whitelist, then evaluated with every intermediate value bounded. `python()`
gives the same expression back as source for the exported class (the names are its
`__init__` arguments). Errors are `ExprError`s, worded to follow "<field> ".
"""

from __future__ import annotations

import ast
import math
from functools import lru_cache
from typing import Any

MAX_CHARS = 500
MAX_NODES = 200  # tree nodes per expression
MAX_DEPTH = 30
MAX_INT = 10**15  # magnitudes beyond any size a layer takes
MAX_STR = 200
FUNCS = {"min": min, "max": max, "abs": abs, "int": int, "round": round}
Value = int | float | bool | str

_BIN = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
        ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
        ast.Pow: lambda a, b: a ** b}
_CMP = {ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
        ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b}
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Name,
            ast.Constant, ast.Load, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, *_BIN, *_CMP)


class ExprError(Exception):
    pass


def is_expr(v: Any) -> bool:
    """Whether a param value is an expression object {"expr": "..."}."""
    return isinstance(v, dict) and set(v) == {"expr"} and isinstance(v["expr"], str)


@lru_cache(maxsize=4096)
def parse(text: str) -> ast.Expression:
    if not isinstance(text, str):
        raise ExprError("must be an expression string, e.g. {\"expr\": \"channels * 2\"}")
    if len(text) > MAX_CHARS:
        raise ExprError(f"is an expression of {len(text):,} characters; the limit is {MAX_CHARS}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise ExprError(f"is not a valid expression ({getattr(e, 'msg', None) or type(e).__name__}): {text[:80]!r}") from None
    count, stack = 0, [(tree, 0)]
    while stack:  # iterative: the depth is checked, not trusted
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES or depth > MAX_DEPTH:
            raise ExprError(f"is too large an expression (more than {MAX_NODES} parts or {MAX_DEPTH} levels deep)")
        if not isinstance(node, _ALLOWED):
            raise ExprError(f"uses {type(node).__name__}, which argument expressions do not allow "
                            "(only arithmetic, comparisons, and/or/not, a if c else b, min/max/abs/int/round)")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCS or node.keywords:
                raise ExprError(f"calls something other than {', '.join(FUNCS)} (positional arguments only)")
            stack.extend((a, depth + 1) for a in node.args)
            continue
        if isinstance(node, ast.Constant) and (not isinstance(node.value, (int, float, str)) or
                                               isinstance(node.value, str) and len(node.value) > MAX_STR):
            raise ExprError(f"holds the literal {node.value!r:.40}; use numbers, strings, True or False")
        stack.extend((c, depth + 1) for c in ast.iter_child_nodes(node))
    return tree


def names(text: str) -> set[str]:
    return {n.id for n in ast.walk(parse(text)) if isinstance(n, ast.Name) and n.id not in FUNCS}


def evaluate(text: str, env: dict[str, Value]) -> Value:
    tree = parse(text)
    unknown = sorted(names(text) - set(env))
    if unknown:
        have = ", ".join(sorted(env)) or "none here"
        raise ExprError(f"uses '{unknown[0]}', which is not an argument in scope (arguments: {have})")
    try:
        return _bounded(_eval(tree.body, env))
    except ExprError:
        raise
    except (ArithmeticError, TypeError, ValueError, OverflowError) as e:
        raise ExprError(f"cannot be evaluated: {str(e)[:120]}") from None


def python(text: str, rename: dict[str, str] | None = None, consts: dict[str, Value] | None = None) -> str:
    """The expression as Python source, names renamed or replaced by constants."""
    tree = parse(text)

    class Sub(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if consts and node.id in consts:
                return ast.Constant(consts[node.id])
            if rename and node.id in rename:
                return ast.Name(rename[node.id], ast.Load())
            return node

    import copy
    return ast.unparse(Sub().visit(copy.deepcopy(tree)).body)


def _bounded(v: Any) -> Value:
    if isinstance(v, bool) or isinstance(v, str) and len(v) <= MAX_STR:
        return v
    if isinstance(v, int) and abs(v) <= MAX_INT or isinstance(v, float) and math.isfinite(v) and abs(v) <= MAX_INT:
        return v
    if isinstance(v, str):
        raise ExprError(f"makes a string longer than {MAX_STR} characters")
    raise ExprError(f"makes a number beyond ±{MAX_INT:.0e} (or not finite)")


def _eval(node: ast.AST, env: dict[str, Value]) -> Value:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        if isinstance(node.op, ast.Not):
            return not v
        if isinstance(v, str):
            raise ExprError("negates a string")
        return _bounded(-v if isinstance(node.op, ast.USub) else +v)
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, env), _eval(node.right, env)
        if isinstance(node.op, ast.Pow) and isinstance(b, (int, float)) and abs(b) > 64 and \
                isinstance(a, (int, float)) and abs(a) > 1:
            raise ExprError("raises to a power beyond 64")
        if isinstance(node.op, ast.Mult) and (isinstance(a, str) or isinstance(b, str)):
            n = b if isinstance(a, str) else a
            if not isinstance(n, int) or max(len(str(a)), len(str(b))) * max(n, 0) > MAX_STR:
                raise ExprError(f"makes a string longer than {MAX_STR} characters")
        return _bounded(_BIN[type(node.op)](a, b))
    if isinstance(node, ast.BoolOp):
        v = _eval(node.values[0], env)
        for nxt in node.values[1:]:
            if (not v) if isinstance(node.op, ast.And) else v:
                return v
            v = _eval(nxt, env)
        return v
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        for op, right in zip(node.ops, node.comparators):
            r = _eval(right, env)
            if not _CMP[type(op)](left, r):
                return False
            left = r
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body, env) if _eval(node.test, env) else _eval(node.orelse, env)
    if isinstance(node, ast.Call):
        return _bounded(FUNCS[node.func.id](*(_eval(a, env) for a in node.args)))
    raise ExprError(f"uses {type(node).__name__}")  # unreachable: parse() checked the tree
