"""Tree -> output shape, by running it on meta tensors (shapes only, no data, no memory).

The same torch callables as the generated code run here, so a shape error is torch's own,
reported at the position of the piece that raised it. A condition has no value on the meta
device, so `if` traces both branches and `while` traces its body once; both must leave
every variable with the shape it had (a loop that changed shapes could not run twice).

The same walk meters memory: `values` counts what every operation makes, the body of a
while loop `max_iter` times (autograd keeps every round for the backward pass), its
condition once more, and the larger branch of an if: a bound on what one forward at that
batch size makes, whatever is freed on the way.
"""

from __future__ import annotations

from typing import Any

import torch

from blocklab.custom import language as L
from blocklab.custom.tree import (
    Assign, BinOp, Call, Expr, ExprError, If, Index, Ints, Logic, Method, Num, Pos, Program, Stmt, Unary, Var, While,
)

Env = dict[str, Any]  # name -> meta tensor or plain number


def run(prog: Program, env: Env) -> Any:
    """The result of `prog` on the meta tensors in `env` (inputs, parameters, constants)."""
    return Tracer().run(prog, env)


class Tracer:
    """One walk over a program. `cap`: the most values any one tensor may hold (None: no cap,
    for metering at a real batch size); `max_iter`: the rounds a while loop counts for."""

    def __init__(self, cap: int | None = L.MAX_TRACE_NUMEL, max_iter: int = 1):
        self.cap, self.max_iter = cap, max_iter
        self.values = 0  # made by operations so far, loops and branches weighed as above

    def run(self, prog: Program, env: Env) -> Any:
        env = dict(env)
        self.block(prog.body, env)
        return self.eval(prog.result, env)

    # ------------------------------------------------------------ statements
    def block(self, stmts: tuple[Stmt, ...], env: Env) -> None:
        for s in stmts:
            if isinstance(s, Assign):
                env[s.name] = self.eval(s.value, env)
            elif isinstance(s, While):
                start = self.values
                self.cond(s.cond, env, "while")
                after_cond = self.values
                inner = dict(env)
                self.block(s.body, inner)  # one round stands for all: shapes must not change
                _same_after(env, inner, "one round of this while loop", s.pos)
                # max_iter rounds of the body, and the condition once more, before the exit
                cond, body = after_cond - start, self.values - after_cond
                self.values = start + cond * (self.max_iter + 1) + body * self.max_iter
            elif isinstance(s, If):
                self.cond(s.cond, env, "if")
                a, b = dict(env), dict(env)
                before = self.values
                self.block(s.body, a)
                one, self.values = self.values, before
                self.block(s.orelse, b)
                self.values = max(self.values, one)  # one branch runs
                for name in a.keys() & b.keys():
                    if _sig(a[name]) != _sig(b[name]):
                        raise ExprError(
                            f"'{name}' is {shape_text(a[name])} after the if branch but {shape_text(b[name])} "
                            f"otherwise; both ways must give the same shape", s.pos)
                env.update({k: a[k] for k in a.keys() & b.keys()})

    def cond(self, e: Expr, env: Env, kind: str) -> Any:
        if isinstance(e, Logic):
            for v in e.values:
                self.cond(v, env, kind)
            return _scalar_bool()
        if isinstance(e, Unary) and e.op == "not":
            self.cond(e.operand, env, kind)
            return _scalar_bool()
        v = self.eval(e, env)
        if isinstance(v, torch.Tensor) and v.numel() != 1:
            raise ExprError(
                f"the {kind} condition is {shape_text(v)} (batch included), not a single value; "
                f"reduce it, e.g. x.abs().sum() > 1", e.pos)
        return v

    # ------------------------------------------------------------ expressions
    def eval(self, e: Expr, env: Env) -> Any:
        if isinstance(e, Num):
            return e.value
        if isinstance(e, Ints):
            return e.values
        if isinstance(e, Var):
            return env[e.name]
        if isinstance(e, Logic) or (isinstance(e, Unary) and e.op == "not"):
            return self.cond(e, env, "if")
        if isinstance(e, Call):
            fn = L.FUNCTIONS[e.fn]
            args = [self.eval(a, env) for a in e.args]
            opts = {k: self.eval(v, env) for k, v in e.opts}
            run = (lambda: fn.run(*args, **opts)) if fn.keywords else (lambda: fn.run(*args, *opts.values()))
            return self.checked(f"{e.fn}()", args, e.pos, run, cond_first=e.fn == "where")
        if isinstance(e, Method):
            obj = self.eval(e.obj, env)
            if not isinstance(obj, torch.Tensor):
                raise ExprError(f".{e.name}() applies to a tensor, not a number", e.pos)
            opts = {k: self.eval(v, env) for k, v in e.opts}
            return self.checked(f".{e.name}()", [obj], e.pos, lambda: getattr(obj, e.name)(**opts))
        if isinstance(e, Index):
            obj = self.eval(e.obj, env)
            if not isinstance(obj, torch.Tensor):
                raise ExprError("indexing applies to a tensor, not a number", e.pos)
            _keeps_batch(e, obj.dim())
            idx = tuple(slice(*i) if isinstance(i, tuple) else Ellipsis if i == "..." else i for i in e.items)
            return self.checked("indexing", [obj], e.pos, lambda: obj[idx])
        if isinstance(e, BinOp):
            a, b = self.eval(e.left, env), self.eval(e.right, env)
            f = L.BINOPS.get(e.op) or L.COMPARE[e.op]
            return self.checked(f"'{e.op}'", [a, b], e.pos, lambda: f(a, b))
        if isinstance(e, Unary):
            v = self.eval(e.operand, env)
            return self.checked(f"'{e.op}'", [v], e.pos, lambda: -v if e.op == "-" else +v)
        raise TypeError(f"not a tree node: {type(e).__name__}")

    def checked(self, what: str, args: list, pos: Pos, thunk, cond_first: bool = False) -> Any:
        # True/false tensors only steer where(), while and if: torch's CPU kernels refuse many
        # bool ops that the meta device accepts (bool % bool, bool @ bool), and bool * 2 makes
        # integers, whose // 0 raises at run time. Requiring floats everywhere else keeps the
        # trace and the real run in step.
        for i, a in enumerate(args):
            if isinstance(a, torch.Tensor) and a.dtype == torch.bool and not (cond_first and i == 0):
                raise ExprError(f"{what} gets a true/false tensor (a comparison)", pos,
                                "turn it into numbers with where(c, 1.0, 0.0), or use it as where()'s condition")
        try:
            out = thunk()
        except ExprError:
            raise
        except (RuntimeError, TypeError, ValueError, IndexError, NotImplementedError, OverflowError) as err:
            msg = (str(err).strip().splitlines() or [type(err).__name__])[0][:240]
            shapes = " and ".join(shape_text(a) for a in args)
            raise ExprError(f"{what} cannot take {shapes} (batch included)", pos, f"torch says: {msg}") from None
        if isinstance(out, torch.Tensor):
            if self.cap is not None and out.numel() > self.cap:
                raise ExprError(f"{what} makes a tensor of {out.numel():,} values for a tiny batch; the limit is "
                                f"{self.cap:,}", pos)
            if not (out.is_floating_point() or out.dtype == torch.bool):
                raise ExprError(f"{what} gives {_dtype(out)} values; use float numbers (1.0 rather than 1)", pos)
            self.values += out.numel()
        elif isinstance(out, (tuple, list)):  # no allow-listed call returns one; refuse rather than guess
            raise ExprError(f"{what} gives several values, not one tensor", pos)
        return out


def _keeps_batch(e: Index, ndim: int) -> None:
    """Indexing may not touch dim 0, the batch: the first entry is a full slice, or a '...'
    that leaves dim 0 alone (the entries after it take the last dims)."""
    first = e.items[0]
    if first == (None, None, None):
        return
    taken = sum(1 for i in e.items if i is not None and i != "...")
    if first == "..." and taken <= ndim - 1:
        return
    raise ExprError("indexing would index the batch dimension (dim 0)", e.pos,
                    "start with ':' (x[:, 0]) or '...' (x[..., :4]); the batch is dim 0 of every tensor here")


def shape_text(v: Any) -> str:
    if isinstance(v, torch.Tensor):
        return "[" + ", ".join(map(str, v.shape)) + "]" + ("" if v.is_floating_point() else f" ({_dtype(v)})")
    return "a number"


def _dtype(v: torch.Tensor) -> str:
    return "true/false" if v.dtype == torch.bool else str(v.dtype).removeprefix("torch.")


def _sig(v: Any) -> tuple:
    return ("tensor", tuple(v.shape), v.dtype) if isinstance(v, torch.Tensor) else ("number",)


def _same_after(before: Env, after: Env, what: str, pos: Pos) -> None:
    for name, v in before.items():
        if name in after and _sig(after[name]) != _sig(v):
            raise ExprError(
                f"'{name}' changes from {shape_text(v)} to {shape_text(after[name])} in {what}; "
                f"a loop must keep every shape", pos)


def _scalar_bool() -> torch.Tensor:
    return torch.empty((), dtype=torch.bool, device="meta")
