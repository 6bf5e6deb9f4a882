"""Operator chains exporters write for one layer, recognised as that layer before the
operators are mapped one by one (read by importers.onnx_import)."""

from __future__ import annotations

import math
import re

import numpy as np


def match_gelu(nodes, consts: dict[str, np.ndarray]) -> dict[str, tuple[str, str, set[str]]]:
    """Exact GELU as exporters decompose it at opset < 20: x * 0.5 * (1 + erf(x / sqrt(2))).

    Returns {first node's output: (x, last node's output, the outputs of the nodes it covers)}."""
    producer = {o: n for n in nodes for o in n.output}
    users: dict[str, list] = {}
    for n in nodes:
        for i in n.input:
            users.setdefault(i, []).append(n)

    def const_of(n, value: float) -> str | None:  # the non-constant input, if the other is `value`
        a, b = n.input
        for c, other in ((a, b), (b, a)):
            if c in consts and consts[c].size == 1 and abs(float(consts[c].reshape(())) - value) < 1e-6:
                return other
        return None

    def only_user(value: str):
        u = users.get(value, [])
        return u[0] if len(u) == 1 else None

    found = {}
    for erf in (n for n in nodes if n.op_type == "Erf"):
        scale = producer.get(erf.input[0])
        if scale is None or len(users.get(scale.output[0], [])) != 1:
            continue
        x = const_of(scale, math.sqrt(2)) if scale.op_type == "Div" else (
            const_of(scale, 1 / math.sqrt(2)) if scale.op_type == "Mul" else None)
        add = only_user(erf.output[0])
        if x is None or add is None or add.op_type != "Add" or const_of(add, 1.0) != erf.output[0]:
            continue
        m1 = only_user(add.output[0])
        m2 = only_user(m1.output[0]) if m1 is not None and m1.op_type == "Mul" else None
        if m2 is None or m2.op_type != "Mul":
            continue
        rest = {i for i in (*m1.input, *m2.input) if i not in (add.output[0], m1.output[0])}
        halves = [i for i in rest if i in consts and consts[i].size == 1 and float(consts[i].reshape(())) == 0.5]
        if halves and rest - set(halves) == {x}:
            found[scale.output[0]] = (x, m2.output[0], {o for n in (scale, erf, add, m1, m2) for o in n.output})
    return found


def match_softplus(nodes, consts: dict[str, np.ndarray]) -> dict[str, tuple[str, str, set[str], dict]]:
    """Softplus(beta, threshold) as torch exports it: Where(z > threshold, x, Softplus(z) / beta)
    with z = x * beta (beta = 1: z = x, no Div).

    Returns {first node's output: (x, Where's output, the outputs it covers, the block params)}."""
    producer = {o: n for n in nodes for o in n.output}
    order = {id(n): i for i, n in enumerate(nodes)}

    def scalar(name: str) -> float | None:
        c = consts.get(name)
        return float(c.reshape(())) if c is not None and c.size == 1 else None

    found = {}
    for where in (n for n in nodes if n.op_type == "Where" and len(n.input) == 3):
        cond, x, soft = producer.get(where.input[0]), where.input[1], producer.get(where.input[2])
        if cond is None or cond.op_type != "Greater" or soft is None or scalar(cond.input[1]) is None:
            continue
        z, covered, beta = cond.input[0], [cond, where], 1.0
        if soft.op_type == "Div":  # Softplus(z) / beta
            beta, div, soft = scalar(soft.input[1]), soft, producer.get(soft.input[0])
            covered.append(div)
        if beta is None or soft is None or soft.op_type != "Softplus" or soft.input[0] != z:
            continue
        covered.append(soft)
        if z != x:  # z = x * beta
            mul = producer.get(z)
            if mul is None or mul.op_type != "Mul" or x not in mul.input or scalar(next(i for i in mul.input if i != x)) != beta:
                continue
            covered.append(mul)
        elif beta != 1.0:
            continue
        first = min(covered, key=lambda n: order[id(n)])
        params = {"beta": float(f"{beta:.7g}"), "threshold": float(f"{scalar(cond.input[1]):.7g}")}
        found[first.output[0]] = (x, where.output[0], {o for n in covered for o in n.output}, params)
    return found


def match_groupnorm(nodes, consts: dict[str, np.ndarray]) -> dict[str, tuple[str, str, set[str], dict, dict]]:
    """GroupNorm as torch exports it: Reshape(x, [0, G, -1]) -> InstanceNormalization(ones, zeros)
    -> Reshape back (to Shape(x)) -> Mul(gamma [C, 1, ...]) -> Add(beta [C, 1, ...]).

    Returns {Reshape's output: (x, Add's output, the outputs it covers, params, weights)}."""
    users: dict[str, list] = {}
    for n in nodes:
        for i in n.input:
            users.setdefault(i, []).append(n)

    def only(value: str, op: str):
        u = users.get(value, [])
        return u[0] if len(u) == 1 and u[0].op_type == op else None

    def const(n, skip: str) -> np.ndarray | None:
        other = [i for i in n.input if i != skip]
        return consts.get(other[0]) if len(other) == 1 else None

    found = {}
    for first in (n for n in nodes if n.op_type == "Reshape" and n.input[1] in consts):
        target = consts[first.input[1]].tolist()
        norm = only(first.output[0], "InstanceNormalization")
        if len(target) != 3 or target[0] != 0 or target[2] != -1 or norm is None or target[1] < 1:
            continue
        scale, bias = consts.get(norm.input[1]), consts.get(norm.input[2])
        back = only(norm.output[0], "Reshape")
        mul = only(back.output[0], "Mul") if back is not None else None
        add = only(mul.output[0], "Add") if mul is not None else None
        if scale is None or bias is None or not (np.all(scale == 1) and np.all(bias == 0)) or add is None:
            continue
        gamma, beta = const(mul, back.output[0]), const(add, mul.output[0])
        if gamma is None or beta is None or gamma.shape != beta.shape or gamma.ndim < 2 or any(d != 1 for d in gamma.shape[1:]):
            continue
        eps = next((a.f for a in norm.attribute if a.name == "epsilon"), 1e-5)
        plain = bool(np.all(gamma == 1) and np.all(beta == 0))  # affine=False writes ones and zeros too
        params = {"num_groups": int(target[1]), "eps": float(f"{eps:.7g}"), **({"affine": False} if plain else {})}
        weights = {} if plain else {"weight": gamma.reshape(-1), "bias": beta.reshape(-1)}
        covered = {o for n in (first, norm, back, mul, add) for o in n.output}
        found[first.output[0]] = (first.input[0], add.output[0], covered, params, weights)
    return found


_REDUCE = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min"}
_BINARY = {"Sub": "-", "Add": "+", "Mul": "*", "Div": "/"}


def match_batch_reduce(nodes, consts: dict[str, np.ndarray], shapes: dict) -> dict[str, tuple[str, str, set[str], dict]]:
    """x - x.mean() (D2L's CenteredLayer), the mean over the whole batch: ReduceMean(x) over every
    dim -> Squeeze to a scalar -> Sub(x, it). A CustomLayer computes it as written, as
    custom/LANGUAGE.md allows a whole-tensor reduction that the result broadcasts back.

    Returns {the reduction's output: (x, the binary op's output, the outputs it covers, params)}."""
    users: dict[str, list] = {}
    for n in nodes:
        for i in n.input:
            users.setdefault(i, []).append(n)

    def only(value: str):
        u = users.get(value, [])
        return u[0] if len(u) == 1 else None

    def every_dim(n) -> bool:
        rank = len(shapes.get(n.input[0]) or [])
        axes = next((list(a.ints) for a in n.attribute if a.name == "axes"), None)
        if len(n.input) > 1 and n.input[1]:
            axes = consts[n.input[1]].reshape(-1).tolist() if n.input[1] in consts else None
            if axes is None:
                return False
        noop = next((a.i for a in n.attribute if a.name == "noop_with_empty_axes"), 0)
        return (not axes and not noop) or (rank > 0 and sorted(a % rank for a in axes) == list(range(rank)))

    found = {}
    for red in (n for n in nodes if n.op_type in _REDUCE and n.domain in ("", "ai.onnx") and n.input):
        x = red.input[0]
        if len(shapes.get(x) or []) < 2 or not every_dim(red):
            continue
        covered, m = [red], red.output[0]
        squeeze = only(m)
        if squeeze is not None and squeeze.op_type == "Squeeze" and (len(squeeze.input) < 2 or not squeeze.input[1]):
            covered.append(squeeze)
            m = squeeze.output[0]
        b = only(m)
        if b is None or b.op_type not in _BINARY or sorted(b.input) != sorted([x, m]) or x == m:
            continue
        whole = f"{_REDUCE[red.op_type]}(x)"
        expr = f"x {_BINARY[b.op_type]} {whole}" if b.input[0] == x else f"{whole} {_BINARY[b.op_type]} x"
        meta = {p.key: p.value for p in red.metadata_props}
        cls = re.search(r"blocklab_generated\.([A-Za-z]\w{0,32})_[0-9a-f]{6}/[^/]*$", meta.get("namespace", ""))
        params = {"expr": expr, "name": cls.group(1) if cls else f"WholeBatch{red.op_type[6:]}"}
        found[red.output[0]] = (x, b.output[0], {o for n in (*covered, b) for o in n.output}, params)
    return found
