"""Block arguments: checking a block's declared args, binding an instance's params to them,
and putting argument values into a node's params, `when` and `repeat`.

    "blocks": {"Residual": {"args": {"channels": {"type": "integer", "default": 64, "minimum": 1}},
                            "nodes": [{"id": "conv1", "type": "Conv2d",
                                       "params": {"out_channels": {"expr": "channels"}}}, ...]}}
    {"id": "b1", "type": "Residual", "params": {"channels": 128}, "repeat": 2}

Each function reports through `err(node, field, message)` and returns None on an error, so
the analysis goes on with the other nodes.
"""

from __future__ import annotations

import keyword
import math
from typing import Any

from blocklab.graph import expr as E
from blocklab.graph.document import ArgSpec, GraphDoc, Node
from blocklab.graph.types import Error

MAX_REPEAT = 1000
INDEX = "i"  # a repeat's copy index, in the instance's own param expressions
RESERVED = frozenset({INDEX, "self", "torch", "nn", "F", "math", "super", "range", *E.FUNCS})
_PY = {"integer": "int", "number": "float", "boolean": "bool", "string": "str"}
Env = dict[str, E.Value]


def check_defs(doc: GraphDoc, errors: list[Error]) -> set[str]:
    """Blocks whose declared args are malformed (each reported); the rest are usable."""
    bad = set()
    for name, b in doc.blocks.items():
        for arg, spec in (b.args or {}).items():
            problem = _arg_problem(arg, spec)
            if problem:
                errors.append(Error((), f"args.{arg[:64]}", f"block '{name[:64]}': argument '{arg[:64]}' {problem}",
                                    name[:64]))
                bad.add(name)
    return bad


def _arg_problem(arg: str, spec: ArgSpec) -> str | None:
    if not arg.isidentifier() or keyword.iskeyword(arg) or len(arg) > 64:
        return "must be a Python name (letters, digits, _; not a keyword)"
    if arg in RESERVED:
        return f"has a reserved name; avoid {', '.join(sorted(RESERVED))}"
    if spec.enum is not None and spec.type != "string":
        return "has an enum, which only string arguments take"
    return _value_problem(spec, spec.default, "its default")


def _value_problem(spec: ArgSpec, v: Any, what: str = "") -> str | None:
    ok = {"integer": isinstance(v, int) and not isinstance(v, bool),
          "number": isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
          "boolean": isinstance(v, bool), "string": isinstance(v, str) and len(v) <= E.MAX_STR}[spec.type]
    lead = f"{what} " if what else ""
    if not ok:
        return f"{lead}must be {'a' if spec.type != 'integer' else 'an'} {spec.type}, got {v!r:.40}"
    if spec.minimum is not None and spec.type in ("integer", "number") and v < spec.minimum:
        return f"{lead}must be at least {spec.minimum}, got {v!r}"
    if spec.maximum is not None and spec.type in ("integer", "number") and v > spec.maximum:
        return f"{lead}must be at most {spec.maximum}, got {v!r}"
    if spec.enum is not None and v not in spec.enum:
        return f"{lead}must be one of {', '.join(spec.enum[:10])}, got {v!r:.40}"
    return None


def substitute(n: Node, params: dict[str, Any], env: Env | None, err) -> dict[str, Any] | None:
    """The params with every {"expr": ...} value evaluated over `env` (None: the top level)."""
    if not any(E.is_expr(v) for v in params.values()):
        return params
    out, ok = {}, True
    for k, v in params.items():
        if E.is_expr(v):
            v = value(n, f"params.{k}", v["expr"], env, err)
            ok = ok and v is not None
        out[k] = v
    return out if ok else None


def value(n: Node, field: str, text: Any, env: Env | None, err) -> E.Value | None:
    label = f"{n.type} '{n.id}'"
    if env is None:
        err(n.id, field, f"{label}: {field} is an expression, but only nodes inside a block with args can use one")
        return None
    try:
        return E.evaluate(text, env)
    except E.ExprError as e:
        err(n.id, field, f"{label}: {field} {e}")
        return None


def when(n: Node, env: Env | None, err) -> bool | None:
    """Whether the node is present (True without `when`), or None on an error."""
    if n.when is None:
        return True
    v = value(n, "when", n.when, env, err)
    return None if v is None else bool(v)


def repeat(n: Node, env: Env | None, err) -> int | None:
    r = n.repeat
    if r is None:
        return 1
    if isinstance(r, dict):
        if not E.is_expr(r):
            err(n.id, "repeat", f"{n.type} '{n.id}': repeat is an int or {{\"expr\": ...}}")
            return None
        r = value(n, "repeat", r["expr"], env, err)
        if r is None:
            return None
    if not isinstance(r, int) or isinstance(r, bool) or not 1 <= r <= MAX_REPEAT:
        err(n.id, "repeat", f"{n.type} '{n.id}': repeat must be a whole number from 1 to {MAX_REPEAT:,}, got {r!r:.40}")
        return None
    return r


def bind(n: Node, specs: dict[str, ArgSpec], params: dict[str, Any], err) -> Env | None:
    """An instance's args: its (evaluated) params checked against the block's, defaults filled in."""
    label = f"{n.type} '{n.id}'"
    ok = True
    for k in params:
        if k not in specs:
            have = ", ".join(specs) or "none"
            err(n.id, f"params.{k[:64]}", f"{label}: block '{n.type}' has no argument '{k[:64]}' (its args: {have})")
            ok = False
    out: Env = {}
    for k, spec in specs.items():
        v = params.get(k, spec.default)
        if spec.type == "number" and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        problem = _value_problem(spec, v)
        if problem:
            err(n.id, f"params.{k}", f"{label}: argument '{k}' {problem}")
            ok = False
        out[k] = v
    return out if ok else None


def py_type(spec: ArgSpec) -> str:
    return _PY[spec.type]
