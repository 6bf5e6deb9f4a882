"""A CustomLayer's while/if as graph control flow, for the ONNX export only.

The generated forward() (custom.emit) runs its bounded while loop and its ifs in Python,
which is what a reader of the .py file wants, but torch.export can only record one path
through them. For the export the layer's forward is written once more from the same parsed
program: a `while` becomes torch's while_loop (ONNX Loop) carrying a round counter and the
names the body assigns, so it stops after max_iter rounds exactly as the Python loop does;
an `if` becomes torch.cond (ONNX If) over the names either branch assigns. Expressions are
printed by custom.emit itself, so both forwards compute the same thing.
"""

from __future__ import annotations

import itertools
import types
from typing import Callable

import torch
from torch import nn
from torch._higher_order_ops.while_loop import while_loop

from blocklab.blocks.custom import CustomP, program
from blocklab.custom.emit import source
from blocklab.custom.tree import Assign, Expr, If, Logic, Stmt, Unary, While


class NoGraphFlow(ValueError):
    """The program's control flow has no graph form (a name first made inside a branch, ...)."""


def has_flow(p: CustomP) -> bool:
    return any(isinstance(s, (While, If)) for s in program(p).body)


def _assigned(stmts: tuple[Stmt, ...]) -> set[str]:
    out: set[str] = set()
    for s in stmts:
        if isinstance(s, Assign):
            out.add(s.name)
        elif isinstance(s, While):
            out |= _assigned(s.body)
        elif isinstance(s, If):
            out |= _assigned(s.body) | _assigned(s.orelse)
    return out


def _cond(e: Expr) -> str:
    """A condition as one boolean tensor: `and`/`or`/`not` become logical_and/or/not."""
    if isinstance(e, Logic):
        fn = "torch.logical_and" if e.op == "and" else "torch.logical_or"
        out = _cond(e.values[0])
        for v in e.values[1:]:
            out = f"{fn}({out}, {_cond(v)})"
        return out
    if isinstance(e, Unary) and e.op == "not":
        return f"torch.logical_not({_cond(e.operand)})"
    return f"torch.as_tensor({source(e)})"


class _Writer:
    def __init__(self, max_iter: int):
        self.max_iter, self.ids = max_iter, itertools.count(1)

    def block(self, stmts: tuple[Stmt, ...], defined: list[str]) -> list[str]:
        out: list[str] = []
        for s in stmts:
            if isinstance(s, Assign):
                out.append(f"{s.name} = {source(s.value)}")
                defined = defined if s.name in defined else [*defined, s.name]
            elif isinstance(s, While):
                out += self._while(s, defined)
            else:
                out += self._if(s, defined)
                defined = [*defined, *sorted(self._made_by_both(s, defined))]
        return out

    def _while(self, s: While, defined: list[str]) -> list[str]:
        k = next(self.ids)
        carried = [v for v in defined if v in _assigned(s.body)]  # names made inside stay inside, as loop locals
        if not carried:
            raise NoGraphFlow(f"the while loop at line {s.pos.line} changes nothing it could stop on")
        args = ", ".join([f"_round{k}", *carried])
        body = self.block(s.body, defined)
        return [f"def _cond{k}({args}):",
                f"    return torch.logical_and(_round{k} < {self.max_iter}, {_cond(s.cond)})",
                f"def _body{k}({args}):", *_indent(body),
                f"    return ({', '.join([f'_round{k} + 1', *(f'{v}.clone()' for v in carried)])},)",
                f"_, {', '.join(carried)} = while_loop(_cond{k}, _body{k}, "
                f"(torch.zeros((), dtype=torch.int64), {', '.join(carried)}))"]

    def _made_by_both(self, s: If, defined: list[str]) -> set[str]:
        return (_assigned(s.body) & _assigned(s.orelse)) - set(defined)

    def _if(self, s: If, defined: list[str]) -> list[str]:
        k = next(self.ids)
        either = _assigned(s.body) | _assigned(s.orelse)
        new = self._made_by_both(s, defined)
        if either - set(defined) - new:
            name = sorted(either - set(defined) - new)[0]
            raise NoGraphFlow(f"'{name}' is made in only one branch of the if at line {s.pos.line}")
        outs = [v for v in defined if v in either] + sorted(new)
        if not outs:
            return []
        ins = [v for v in defined if v in either]
        lines = []
        for name, stmts in ((f"_then{k}", s.body), (f"_else{k}", s.orelse)):
            body = self.block(stmts, defined)
            lines += [f"def {name}({', '.join(ins)}):", *_indent(body or ["pass"]),
                      f"    return ({', '.join(f'{v}.clone()' for v in outs)},)"]  # a branch may not return its input
        lines.append(f"{', '.join(outs)}, = torch.cond({_cond(s.cond)}, _then{k}, _else{k}, ({', '.join(ins)}{',' if ins else ''}))")
        return lines


def _indent(lines: list[str]) -> list[str]:
    return [f"    {x}" for x in lines]


def forward_source(p: CustomP) -> str:
    prog = program(p)
    body = _Writer(p.max_iter).block(prog.body, list(prog.inputs))
    return "\n".join([f"def forward(self, {', '.join(prog.inputs)}):", *_indent(body),
                      f"    return {source(prog.result)}"])


def graph_forward(p: CustomP) -> Callable:
    """forward(self, x, ...) with while_loop / torch.cond, to bind to the layer's module."""
    env = {"torch": torch, "nn": nn, "while_loop": while_loop}
    exec(compile(forward_source(p), f"<CustomLayer {p.name}>", "exec"), env)  # text printed from the parsed program
    return env["forward"]


def bind(module: nn.Module, p: CustomP) -> None:
    module.forward = types.MethodType(graph_forward(p), module)
