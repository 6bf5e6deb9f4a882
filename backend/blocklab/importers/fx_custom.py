"""A module whose forward() is plain tensor code over its own parameters (D2L's MyLinear,
CenteredLayer) -> one CustomLayer node, its forward written in the CustomLayer language.

The fx graph becomes one assignment per call (`v1 = x @ weight`, `v2 = relu(v1 + bias)`);
parameters and buffers become the layer's declared parameters and constants under their
own names, so the state_dict keys stay `<id>.weight`. Whether the text means the same is
decided by the language itself: the CustomLayer block parses and shape-checks it, and the
import as a whole is compared with the module afterwards.
"""

from __future__ import annotations

import importlib
import operator
import re
from typing import Any

import torch
from torch import fx, nn
from torch.nn import functional as F

from blocklab.blocks import REGISTRY
from blocklab.blocks.base import In, ShapeError
from blocklab.custom import language as L
from blocklab.importers.functions import Spec
from blocklab.importers.fx_source import NoSource, to_text

PORTS = ("x", "y", "z")
_INFIX = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/", operator.matmul: "@",
          operator.pow: "**", operator.floordiv: "//", operator.mod: "%", operator.iadd: "+", operator.isub: "-",
          operator.imul: "*", operator.itruediv: "/"}


def _resolve(path: str) -> Any:
    mod, _, name = path.rpartition(".")
    return getattr(importlib.import_module(mod), name, None)


def _functions() -> dict[Any, str]:
    """torch callable -> language function, from the language's own table of torch paths."""
    out = {}
    for name, fn in L.FUNCTIONS.items():
        target = _resolve(fn.path)
        if target is not None:
            out[target] = name
        alias = getattr(F, name, None)  # F.relu, F.softmax: the same computation as torch.relu, ...
        if alias is not None and name in ("relu", "tanh", "sigmoid", "softplus", "softmax"):
            out[alias] = name
    return out


class _NoExpr(Exception):
    pass


def _lit(v: Any, names: dict[fx.Node, str]) -> str:
    if isinstance(v, fx.Node):
        return names[v]
    if isinstance(v, bool):
        return repr(v)
    if v is None:
        raise _NoExpr("passes None, which the CustomLayer language has no word for")
    if isinstance(v, (int, float)):
        return repr(v) if v >= 0 else f"({v!r})"
    if isinstance(v, (tuple, list)) and all(isinstance(i, int) for i in v):
        return repr(tuple(v))
    raise _NoExpr(f"passes a {type(v).__name__}, which the CustomLayer language cannot express")


def _call(name: str, node: fx.Node, names: dict[fx.Node, str], bare: dict[fx.Node, str], method: bool) -> str:
    # Function arguments are comma-separated: an inlined `a + b` needs no brackets there.
    args = [bare.get(a, _lit(a, names)) if isinstance(a, fx.Node) else _lit(a, names) for a in node.args]
    kw = [f"{k}={_lit(v, names)}" for k, v in node.kwargs.items() if not (k.startswith("_") or v is None or k == "inplace")]
    if method and name in L.METHODS:
        return f"{_lit(node.args[0], names)}.{name}({', '.join(args[1:] + kw)})"
    return f"{name}({', '.join(args + kw)})"


def to_custom(module: nn.Module, args: tuple) -> tuple[Spec | None, str]:
    """(the CustomLayer spec, "") or (None, why not)."""
    fns = _functions()
    try:
        graph = fx.Tracer().trace(module)
    except Exception as e:  # data-dependent control flow: the forward's own text, if it is one
        traced = f"torch.fx cannot trace it: {str(e).splitlines()[0][:200]}"
        if module._modules:
            return None, traced
        try:
            expr, max_iter = to_text(module, fns, len([a for a in args if isinstance(a, torch.Tensor)]))
        except NoSource as why:
            return None, f"{traced}; nor can its source be a CustomLayer: {why}"
        return _checked(module, args, expr, {"max_iter": max_iter} if max_iter != 100 else {}, *_declared(module))
    names: dict[fx.Node, str] = {}  # how the text refers to a value: a name, or its inlined expression
    bare: dict[fx.Node, str] = {}  # an inlined infix expression without its brackets
    lines: list[str] = []
    params, consts = {}, {}
    try:
        for n in graph.nodes:
            if n.op == "placeholder":
                if len(names) >= len(PORTS):
                    raise _NoExpr("takes more than three inputs")
                names[n] = PORTS[len(names)]
            elif n.op == "get_attr":
                t = n.target
                if t in module._parameters:
                    params[t] = _param(module, t)
                elif module._buffers.get(t) is not None:
                    consts[t] = _const(module, t)
                else:
                    raise _NoExpr(f"reads '{t}', which is neither its own parameter nor a buffer")
                names[n] = t
            elif n.op == "output":
                if not isinstance(n.args[0], fx.Node):
                    raise _NoExpr("returns several values")
                lines.append(bare.get(n.args[0], names[n.args[0]]))
            elif n.op == "call_module":
                raise _NoExpr(f"calls the submodule '{n.target}'; a CustomLayer cannot hold layers")
            else:
                infix = True
                if n.target in _INFIX and len(n.args) == 2 and not n.kwargs:
                    expr = f"{_lit(n.args[0], names)} {_INFIX[n.target]} {_lit(n.args[1], names)}"
                elif n.target is operator.neg:
                    expr = f"-{_lit(n.args[0], names)}"
                elif n.op == "call_function" and n.target in fns:
                    expr, infix = _call(fns[n.target], n, names, bare, method=False), False
                elif n.op == "call_method" and (n.target in L.FUNCTIONS or n.target in L.METHODS):
                    expr, infix = _call(n.target, n, names, bare, method=True), False
                else:
                    raise _NoExpr(f"uses {n.target if isinstance(n.target, str) else getattr(n.target, '__name__', n.target)}, "
                                  "which the CustomLayer language does not have")
                if len(n.users) == 1:  # used once: written where it is used, as D2L writes it
                    names[n] = f"({expr})" if infix else expr
                    if infix:
                        bare[n] = expr
                else:
                    var = f"v{len(lines) + 1}"
                    lines.append(f"{var} = {expr}")
                    names[n] = var
    except _NoExpr as e:
        return None, str(e)
    return _checked(module, args, "\n".join(lines), {}, params, consts)


def _param(module: nn.Module, name: str) -> dict:
    t = module._parameters[name]
    return {"shape": list(t.shape), "init": "randn", **({} if t.requires_grad else {"trainable": False})}


MAX_EMBEDDED = 65_536  # values of a non-persistent buffer written into the document


def _const(module: nn.Module, name: str) -> dict:
    """A buffer as a CustomLayer constant. A saved one gets its values from the weights; one
    left out of the state_dict (D2L's plain `rand_weight` attribute) has no saved values, so
    the document carries them: the imported layer computes what the module does."""
    t = module._buffers[name]
    if name not in module._non_persistent_buffers_set:
        return {"shape": list(t.shape), "init": "zeros"}
    if t.numel() > MAX_EMBEDDED or not t.is_floating_point():
        raise _NoExpr(f"holds '{name}', a buffer outside the state_dict of {t.numel():,} values; at most "
                      f"{MAX_EMBEDDED:,} float values are written into the document")
    return {"shape": list(t.shape), "init": t.detach().cpu().tolist(), "persistent": False}


def _declared(module: nn.Module) -> tuple[dict, dict]:
    """Every parameter and buffer of the module, as CustomLayer declarations."""
    params = {k: _param(module, k) for k, v in module._parameters.items() if v is not None}
    try:
        consts = {k: _const(module, k) for k, v in module._buffers.items() if v is not None}
    except _NoExpr:
        consts = {}  # _checked then names what the forward reads that is not declared
    return params, consts


def _checked(module: nn.Module, args: tuple, expr: str, extra: dict, params: dict, consts: dict) -> tuple[Spec | None, str]:
    # A class exported by Blocklab carries a content hash (MyLinear_726ab5): the layer's name is MyLinear.
    cls = re.sub(r"_[0-9a-f]{6}$", "", re.sub(r"\W", "", type(module).__name__))[:40]
    p = {"expr": expr, "parameters": params, "constants": consts, **extra,
         "name": cls if re.match(r"^[A-Za-z]", cls) else "CustomLayer"}
    block = REGISTRY["CustomLayer"]
    ins = {port: In(tuple(a.shape[1:]), port) for port, a in zip(PORTS, args) if isinstance(a, torch.Tensor)}
    try:
        block.infer(block.params.model_validate(p), ins)
    except (ShapeError, ValueError) as e:
        return None, f"its forward as a CustomLayer does not check: {getattr(e, 'message', e)}"
    if not params:
        p.pop("parameters")
    if not consts:
        p.pop("constants")
    return Spec("CustomLayer", p), ""
