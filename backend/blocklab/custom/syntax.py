"""Text -> Python's syntax tree, after cheap checks that keep its parser on small, plain
input (length, characters, bracket depth) and before any conversion (size and depth of the
tree, without recursion). Python's parser only reads: nothing is run.
"""

from __future__ import annotations

import ast
import warnings

from blocklab.custom import language as L
from blocklab.custom.tree import ExprError, Pos


def pos(node: ast.AST) -> Pos:
    return Pos(getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1)


def python_tree(text: str) -> ast.Module:
    if len(text) > L.MAX_CHARS:
        raise ExprError(f"the expression has {len(text):,} characters; the limit is {L.MAX_CHARS:,}")
    if not text.strip():
        raise ExprError("the expression is empty; write one, e.g. x - x.mean()")
    line, col, depth = 1, 0, 0
    for ch in text:  # before Python's parser: cheap checks that keep it on small, plain input
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif not (" " <= ch <= "~" or ch in "\t\r"):
            raise ExprError(f"character {ch!r} is not allowed (plain ASCII only)", Pos(line, col))
        elif ch in "([{":
            depth += 1
            if depth > L.MAX_DEPTH:
                raise ExprError(f"brackets nest deeper than {L.MAX_DEPTH} levels", Pos(line, col))
        elif ch in ")]}":
            depth -= 1
    try:
        with warnings.catch_warnings(action="ignore"):  # SyntaxWarnings ('x' is 1, ...) are not ours to print
            tree = ast.parse(text, mode="exec")
    except SyntaxError as e:
        raise ExprError(f"invalid syntax ({e.msg})", Pos(e.lineno or 1, e.offset or 1)) from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise ExprError(f"the expression cannot be read: {type(e).__name__}") from None
    n = 0
    stack = [(tree, 0)]
    while stack:  # size and depth, without recursion
        node, d = stack.pop()
        n += 1
        if n > L.MAX_NODES:
            raise ExprError(f"the expression is too long: more than {L.MAX_NODES} pieces")
        if d > L.MAX_DEPTH:
            raise ExprError(f"the expression nests deeper than {L.MAX_DEPTH} levels", pos(node))
        stack.extend((c, d + 1) for c in ast.iter_child_nodes(node))
    return tree
