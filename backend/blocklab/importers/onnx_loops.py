"""The ONNX Loop a CustomLayer's bounded while exports to (importers.onnx_flow) -> that CustomLayer.

onnx_flow writes `while C(x): x = B(x)` (at most max_iter rounds) as
    c0 = And(0 < max_iter, C(x));  Loop("", c0, 0, x)
    body (i, c, r, x) -> (And(Less(r + 1, max_iter), C(B(x))), r + 1, B(x)).
C and B are printed back in the CustomLayer language (custom/LANGUAGE.md), only with what
it has: arithmetic, its elementwise functions, reductions, comparisons, and / or / not. The
condition before the loop and the one in its body must print alike. One carried tensor;
anything else is left to the per-operator path, which lists the Loop. Nothing is run.
"""

from __future__ import annotations

import numpy as np

from blocklab.custom.language import MAX_CHARS

_UNARY = {"Abs": "abs", "Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Exp": "exp", "Log": "log",
          "Sqrt": "sqrt", "Softplus": "softplus"}
_BINARY = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Pow": "**"}
_COMPARE = {"Greater": ">", "Less": "<", "GreaterOrEqual": ">=", "LessOrEqual": "<="}
_REDUCE = {"ReduceSum": "sum", "ReduceMean": "mean", "ReduceMax": "max", "ReduceMin": "min", "ReduceL2": "norm"}


class _No(Exception):
    pass


def _attr(n, name: str, default=None):
    from onnx import helper

    a = next((a for a in n.attribute if a.name == name), None)
    return default if a is None else helper.get_attribute_value(a)


def _scalar(c: np.ndarray | None):
    return None if c is None or c.size != 1 else c.reshape(()).item()


class _Printer:
    """Values as CustomLayer text, from the named ones (the loop's tensor: 'x') back."""

    def __init__(self, nodes, consts: dict, names: dict[str, str]):
        self.made = {o: n for n in nodes for o in n.output if o}
        self.consts, self.names, self.used = consts, dict(names), set()

    def __call__(self, v: str, depth: int = 0) -> str:
        if v not in self.names:  # once per value, and never longer than a CustomLayer's text may be
            text = self._print(v, depth)
            if len(text) > MAX_CHARS:
                raise _No("computes more than a CustomLayer's text may say")
            self.names[v] = text
        return self.names[v]

    def _print(self, v: str, depth: int) -> str:
        c = _scalar(self.consts.get(v))
        if c is not None and not isinstance(c, bool):
            return repr(float(f"{float(c):.7g}")) if float(c) >= 0 else f"({float(f'{float(c):.7g}')!r})"
        n = self.made.get(v)
        if n is None or depth > 64:
            raise _No("reads a value from outside, or a tensor constant")
        self.used.add(id(n))
        op = n.op_type
        if op in _REDUCE:
            return self._reduce(n, depth)
        a = [self(i, depth + 1) if i else "" for i in n.input[:2]] + [""]
        if op in _UNARY:
            return f"{_UNARY[op]}({a[0]})"
        if op in _BINARY:
            return f"({a[0]} {_BINARY[op]} {a[1]})"
        if op in _COMPARE:
            return f"({a[0]} {_COMPARE[op]} {a[1]})"
        if op == "Neg":
            return f"(-{a[0]})"
        if op in ("And", "Or"):
            return f"({a[0]} {op.lower()} {a[1]})"
        if op == "Not":
            return f"(not {a[0]})"
        if op == "Identity" or (op == "Squeeze" and len(n.input) == 1 and self._whole(n.input[0])):
            return a[0]
        raise _No(f"computes a {op}, which has no CustomLayer form here")

    def _axes(self, n):
        if len(n.input) > 1 and n.input[1]:
            c = self.consts.get(n.input[1])
            if c is None:
                raise _No("reduces over computed axes")
            return [int(v) for v in c.reshape(-1)]
        return _attr(n, "axes")

    def _whole(self, v: str) -> bool:
        n = self.made.get(v)
        return n is not None and n.op_type in _REDUCE and not self._axes(n) and not _attr(n, "noop_with_empty_axes", 0)

    def _reduce(self, n, depth: int) -> str:
        axes, keep = self._axes(n), bool(_attr(n, "keepdims", 1))
        fn = _REDUCE[n.op_type]
        if not axes and not _attr(n, "noop_with_empty_axes", 0):
            flat = self.made.get(n.input[0])
            if flat is not None and flat.op_type == "Reshape" and _scalar(self.consts.get(flat.input[1])) == -1:
                self.used.add(id(flat))  # norm(x) is written as the norm of x flattened: the same value
                return f"{fn}({self(flat.input[0], depth + 1)})"
            return f"{fn}({self(n.input[0], depth + 1)})"  # the whole tensor, batch included (kept dims are all 1: the same values)
        if axes is None or len(axes) != 1 or axes[0] == 0 or (fn == "norm" and keep):
            raise _No(f"reduces over axes {axes}")
        a = self(n.input[0], depth + 1)
        return f"{fn}({a}, dim={axes[0]})" if fn == "norm" else f"{fn}({a}, dim={axes[0]}, keepdim={keep})"


def _strip(text: str) -> str:
    return text[1:-1] if text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]) else text


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _condition(printer: _Printer, v: str) -> str:
    """And(constant true, C) -> C's text."""
    n = printer.made.get(v)
    if n is not None and n.op_type == "And":
        for a, b in (n.input, n.input[::-1]):
            if _scalar(printer.consts.get(a)) is True:
                printer.used.add(id(n))
                return _strip(printer(b))
    raise _No("starts without the constant round check before its condition")


def _inner(g, consts: dict) -> dict:
    """The constants a body or branch sees: the outer ones, its own initializers and Constants."""
    from onnx import numpy_helper

    inner = dict(consts) | {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for m in g.node:
        if m.op_type == "Constant" and _attr(m, "value") is not None:
            inner[m.output[0]] = numpy_helper.to_array(_attr(m, "value"))
    return inner


def _loop(n, consts: dict, top: list) -> tuple[str, str, list, dict]:
    """(x, the Loop's result, the top-level nodes it covers, CustomLayer params)."""
    body = _attr(n, "body")
    if n.input[0] or len(n.input) != 4 or len(n.output) != 2 or len(body.input) != 4 or len(body.output) != 3:
        raise _No("is not a while loop over one tensor")
    if _scalar(consts.get(n.input[2])) != 0:
        raise _No("starts its round counter elsewhere than 0")
    inner = _inner(body, consts)
    nodes = [m for m in body.node if m.op_type != "Constant"]
    made = {o: m for m in nodes for o in m.output}
    r_in, x_in = body.input[2].name, body.input[3].name
    cond_out, r_out, x_out = (o.name for o in body.output)
    step, both = made.get(r_out), made.get(cond_out)
    if step is None or step.op_type != "Add" or sorted(step.input, key=lambda i: i != r_in)[0] != r_in \
            or _scalar(inner.get(next(i for i in step.input if i != r_in), None)) != 1 or both is None or both.op_type != "And":
        raise _No("does not count its rounds as a bounded while does")
    rounds = next((made[i] for i in both.input if i in made and made[i].op_type == "Less" and made[i].input[0] == r_out), None)
    max_iter = _scalar(inner.get(rounds.input[1])) if rounds is not None else None
    if not isinstance(max_iter, int) or max_iter < 1:
        raise _No("stops after a number of rounds that is not a constant")
    c_body = next(i for i in both.input if i != rounds.output[0])
    update = _strip(_Printer(nodes, inner, {x_in: "x"})(x_out))
    cond = _strip(_Printer(nodes, inner, {x_out: "x"})(c_body))
    outer = _Printer(top, consts, {n.input[3]: "x"})
    if _condition(outer, n.input[1]) != cond:
        raise _No("checks another condition before its first round than after each")
    covered = [m for m in top if id(m) in outer.used]
    expr = f"while {cond}:\n    x = {update}\nx"
    return n.input[3], n.output[1], covered, {"expr": expr, "max_iter": int(max_iter)}


def _if(n, consts: dict, top: list) -> tuple[str, str, list, list[str]]:
    """(x, the If's result, the top-level nodes it covers, its lines): `if C: x = T else: x = E`."""
    branches = [_attr(n, "then_branch"), _attr(n, "else_branch")]
    if len(n.output) != 1 or any(len(b.output) != 1 or b.input for b in branches):
        raise _No("is not an if over one tensor")
    inner = [_inner(b, consts) for b in branches]
    outside = {i for b, c in zip(branches, inner) for m in b.node for i in m.input if i and i not in c} - \
        {o for b in branches for m in b.node for o in m.output}
    if len(outside) != 1:
        raise _No("reads several outside values in its branches")
    x = outside.pop()
    then, orelse = (_strip(_Printer([m for m in b.node if m.op_type != "Constant"], c, {x: "x"})(b.output[0].name))
                    for b, c in zip(branches, inner))
    outer = _Printer(top, consts, {x: "x"})
    cond = _strip(outer(n.input[0]))
    lines = [f"if {cond}:", f"    x = {then}"] + ([] if orelse == "x" else ["else:", f"    x = {orelse}"])
    return x, n.output[0], [m for m in top if id(m) in outer.used], lines


def _reads(n) -> set[str]:
    """The values a node reads, those its branches or body read from outside included."""
    out = set(n.input)
    for a in n.attribute:
        if a.type == a.GRAPH:
            out |= {i for m in a.g.node for i in _reads(m)}
    return out


def match_loops(graph, consts: dict[str, np.ndarray]) -> dict[str, tuple]:
    """{first covered node's output: (x, result, covered outputs, params)}; a while followed by
    an if on its result (D2L's FancyMLP) is one CustomLayer."""
    from onnx import numpy_helper

    top = list(graph.node)
    consts = dict(consts) | {m.output[0]: numpy_helper.to_array(_attr(m, "value")) for m in top
                             if m.op_type == "Constant" and _attr(m, "value") is not None}
    order = {id(m): k for k, m in enumerate(top)}
    readers: dict[str, set[int]] = {}
    for m in top:
        for i in _reads(m):
            readers.setdefault(i, set()).add(id(m))
    results = {v.name for v in graph.output}
    steps = {}  # x -> (result, covered nodes, lines, max_iter)
    for n in (m for m in top if m.op_type in ("Loop", "If") and m.domain in ("", "ai.onnx")):
        try:
            if n.op_type == "Loop":
                x, out, covered, p = _loop(n, consts, top)
                if readers.get(n.output[0]) or n.output[0] in results:
                    continue  # the round count is read
                lines = p["expr"].splitlines()[:-1]
            else:
                x, out, covered, lines = _if(n, consts, top)
                p = {}
        except (_No, ValueError, KeyError, IndexError, TypeError, StopIteration, AttributeError):
            continue  # left to the per-operator path, which lists it
        mine = {id(m) for m in covered} | {id(n)}
        if any(readers.get(o, set()) - mine or o in results for m in covered for o in m.output):
            continue  # the condition's values are read elsewhere
        steps[x] = (out, [*covered, n], lines, p.get("max_iter"))  # an if has no rounds: None
    found = {}
    for x in set(steps) - {out for out, *_ in steps.values()}:  # where a run of steps starts
        out, nodes, lines, max_iter = steps[x]
        while out in steps and readers.get(out, set()) <= {id(m) for m in steps[out][1]} and out not in results \
                and (max_iter is None or steps[out][3] in (None, max_iter)):
            nxt = steps.pop(out)  # the next step reads this one's result only, and loops as long: one layer
            out, nodes, lines, max_iter = nxt[0], nodes + nxt[1], lines + nxt[2], max_iter or nxt[3]
        first = min(nodes, key=lambda m: order[id(m)])
        found[first.output[0]] = (x, out, {o for m in nodes for o in m.output if o},
                                  {"expr": "\n".join([*lines, "x"]), **({"max_iter": max_iter} if max_iter else {})})
    return found
