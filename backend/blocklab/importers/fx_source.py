"""A leaf module whose forward() has a data-dependent while/if (D2L's `while X.abs().sum() > 1:
X /= 2`, or a Blocklab export's bounded `for _ in range(N): if not cond: break`), which
torch.fx cannot trace -> the CustomLayer text of that forward, read from its Python source.

Only the spelling changes: the inputs become x, y, z, `self.weight` becomes `weight`, torch
functions become the language's names (torch.relu -> relu: the same callables the language
itself resolves), and the bounded for-loop becomes `while cond:` with max_iter = N. The
CustomLayer language then parses the text with its own allow-list (anything it does not
know is refused there), and the import as a whole is compared with the module afterwards.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from functools import reduce
from typing import Any

from torch import nn

from blocklab.custom import language as L


class NoSource(Exception):
    """The forward cannot be written as a CustomLayer; the message says why."""


def _bounded(s: ast.For) -> tuple[int, ast.expr, list[ast.stmt]] | None:
    """`for _ in range(N): if not C: break; rest` -> (N, C, rest): Blocklab's bounded while."""
    it, first = s.iter, s.body[0] if s.body else None
    if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range" and len(it.args) == 1
            and isinstance(it.args[0], ast.Constant) and isinstance(it.args[0].value, int) and not s.orelse):
        return None
    if not (isinstance(first, ast.If) and not first.orelse and len(first.body) == 1 and isinstance(first.body[0], ast.Break)
            and isinstance(first.test, ast.UnaryOp) and isinstance(first.test.op, ast.Not)):
        return None
    return it.args[0].value, first.test.operand, s.body[1:]


class _Rewrite(ast.NodeTransformer):
    def __init__(self, env: dict[str, Any], ports: dict[str, str], functions: dict[Any, str]):
        self.env, self.ports, self.functions = env, ports, functions
        self.rounds: set[int] = set()

    def visit_For(self, s: ast.For) -> ast.AST:
        loop = _bounded(s)
        if loop is None:
            raise NoSource("has a for loop; a CustomLayer has while loops")
        n, cond, rest = loop
        self.rounds.add(n)
        return self.generic_visit(ast.While(test=cond, body=rest or [ast.Pass()], orelse=[]))  # bounded: N

    def visit_While(self, s: ast.While) -> ast.AST:
        self.rounds.add(L.MAX_ITER)  # Python's while has no bound: the language's largest
        return self.generic_visit(s)

    def visit_Name(self, e: ast.Name) -> ast.AST:
        return ast.Name(self.ports.get(e.id, e.id), e.ctx)

    def visit_Attribute(self, e: ast.Attribute) -> ast.AST:
        if isinstance(e.value, ast.Name) and e.value.id == "self":  # a declared tensor
            return ast.Name(e.attr, e.ctx)
        target = self._resolve(e)
        if target is not None and target in self.functions:
            return ast.Name(self.functions[target], ast.Load())
        return self.generic_visit(e)

    def _resolve(self, e: ast.expr) -> Any:
        """torch.nn.functional.relu written in forward() -> that callable (or None)."""
        parts = []
        while isinstance(e, ast.Attribute):
            parts.append(e.attr)
            e = e.value
        if not isinstance(e, ast.Name) or e.id not in self.env:
            return None
        try:
            return reduce(getattr, reversed(parts), self.env[e.id])
        except AttributeError:
            return None


def to_text(module: nn.Module, functions: dict[Any, str], n_inputs: int) -> tuple[str, int]:
    """(the CustomLayer expr, max_iter) of module.forward; NoSource when it has no such text."""
    forward = type(module).forward
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(forward)))
    except (OSError, TypeError, SyntaxError) as e:
        raise NoSource(f"its source cannot be read ({e})") from None
    fn = tree.body[0]
    if not isinstance(fn, ast.FunctionDef) or fn.args.vararg or fn.args.kwarg or fn.args.kwonlyargs or fn.decorator_list:
        raise NoSource("its forward takes *args, **kwargs or keyword-only arguments")
    names = [a.arg for a in fn.args.args[1:]]
    if len(names) != n_inputs or len(names) > len(L.PORTS):
        raise NoSource(f"takes {len(names)} inputs; a CustomLayer takes up to {len(L.PORTS)}")
    body = fn.body[1:] if fn.body and isinstance(fn.body[0], ast.Expr) and isinstance(
        getattr(fn.body[0], "value", None), ast.Constant) else fn.body  # the docstring
    env = {**inspect.getclosurevars(forward).globals, **forward.__globals__}
    rewrite = _Rewrite(env, dict(zip(names, L.PORTS)), functions)
    new = [rewrite.visit(s) for s in body]
    if len(rewrite.rounds) > 1:
        raise NoSource("has loops with different bounds; a CustomLayer has one max_iter")
    text = ast.unparse(ast.fix_missing_locations(ast.Module(body=new, type_ignores=[])))
    return text, next(iter(rewrite.rounds), 100)
