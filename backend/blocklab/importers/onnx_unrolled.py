"""torch's batch-first nn.RNN, which torch.onnx.export unrolls step by step, -> one RNN block.

torchlib has no ONNX RNN for aten.rnn_tanh / rnn_relu, so the exporter writes each layer and
direction as: P = x_seq @ W_ih^T + b_ih over the whole sequence [L, B, H] (flipped along L for
the reverse direction), then per step t: h_t = act(h_{t-1} @ W_hh^T + b_hh + P[t]) with h_{-1}
the initial state (zeros, or Transpose(h0) sliced per layer), the steps' h Concat'ed along L
(the reverse ones back in order), the two directions Concat'ed along features, into the next
layer; the batch-first result is Transpose'd back. Each of those operators is checked to be
that step; W_hh and b_hh must be the same in every step. Nothing is run.
"""

from __future__ import annotations

import numpy as np

from blocklab.blocks import REGISTRY
from blocklab.importers.onnx_fold import Graph
from blocklab.importers.onnx_scopes import module_path


class _No(Exception):
    pass


def _one(g: Graph, value: str, op: str):
    u = g.readers(value)
    if len(u) != 1 or u[0].op_type != op:
        raise _No(f"reads a step in a way torch's RNN does not ({op} expected)")
    return u[0]


def _other(n, value: str) -> str:
    rest = [i for i in n.input if i != value]
    if len(rest) != 1:
        raise _No("adds a value to itself")
    return rest[0]


def _const(g: Graph, value: str) -> np.ndarray:
    c = g.fold.const(value)
    if c is None:
        raise _No("takes a weight that is not a constant")
    return c


def _steps(g: Graph, src: str, length: int, covered: list) -> list[str]:
    """x_t = Squeeze(Slice(src, t, t + 1, axis 0), 0) for t < length: their values, in order."""
    xs = {}
    for s in g.readers(src):
        dims = [g.fold.dims(i) for i in s.input[1:4]]
        if s.op_type != "Slice" or dims[2] not in (None, [0]) or len(dims[0] or []) != 1 or dims[1] != [dims[0][0] + 1]:
            raise _No("slices its input projection other than step by step")
        sq = _one(g, s.output[0], "Squeeze")
        covered += [s, sq]
        xs[dims[0][0]] = sq.output[0]
    if sorted(xs) != list(range(length)):
        raise _No("does not read every step")
    return [xs[t] for t in range(length)]


def _run(g: Graph, mm, length: int, covered: list) -> dict:
    """One layer's one direction from its input projection MatMul."""
    w_ih = _const(g, mm.input[1]).T
    p, b_ih = mm.output[0], None
    covered.append(mm)
    add = g.readers(p)
    if len(add) == 1 and add[0].op_type == "Add" and g.fold.const(_other(add[0], p)) is not None:
        b_ih, p = _const(g, _other(add[0], p)).reshape(-1), add[0].output[0]
        covered.append(add[0])
    flip = g.readers(p)
    reverse = len(flip) == 1 and flip[0].op_type == "Slice" and g.fold.dims(flip[0].input[4] if len(flip[0].input) > 4 else "") == [-1]
    if reverse:
        covered.append(flip[0])
        p = flip[0].output[0]
    hs, h_prev, w_hh, b_hh, act, init = [], None, None, None, None, None
    for t, x_t in enumerate(_steps(g, p, length, covered)):
        a = _one(g, x_t, "Add")
        rec = g.fold.producer.get(_other(a, x_t))
        bias = None
        if rec is not None and rec.op_type == "Add":
            bias_in = next((i for i in rec.input if g.fold.const(i) is not None), None)
            bias, rec = _const(g, bias_in).reshape(-1), g.fold.producer.get(_other(rec, bias_in))
        if rec is None or rec.op_type != "MatMul":
            raise _No("computes a step other than act(h W_hh^T + b_hh + x W_ih^T + b_ih)")
        fs = g.readers(a.output[0])
        f = fs[0] if len(fs) == 1 else None
        if f is None or f.op_type not in ("Tanh", "Relu") or (act is not None and f.op_type != act):
            raise _No("applies something other than its nonlinearity after a step")
        w = _const(g, rec.input[1]).T
        if w_hh is not None and (not np.array_equal(w, w_hh) or (bias is None) != (b_hh is None)
                                 or (bias is not None and not np.array_equal(bias, b_hh))):
            raise _No("uses other weights in another step")
        if t == 0:
            init = rec.input[0]
        elif rec.input[0] != h_prev:
            raise _No("does not feed each step's state to the next")
        w_hh, b_hh, act, h_prev = w, bias, f.op_type, f.output[0]
        covered += [x for x in (g.fold.producer.get(_other(a, x_t)), rec, a, f) if x is not None]
        hs.append(f.output[0])
    return {"w_ih": w_ih, "b_ih": b_ih, "w_hh": w_hh, "b_hh": b_hh, "act": act, "init": init, "hs": hs, "reverse": reverse}


def _init(g: Graph, value: str, k: int, covered: list) -> str:
    """The initial state of run k: '' for zeros, else the batch-first h0 it is sliced from."""
    sq = g.fold.producer.get(value)
    sq = g.fold.producer.get(sq.input[0]) if sq is not None and sq.op_type == "Unsqueeze" else None
    sl = g.fold.producer.get(sq.input[0]) if sq is not None and sq.op_type == "Squeeze" else None
    if sl is None or sl.op_type != "Slice" or [g.fold.dims(i) for i in sl.input[1:3]] != [[k], [k + 1]]:
        raise _No("starts from a state other than one slice of the initial states")
    if g.is_zeros(sl.input[0]):
        return ""
    t = g.made_by(sl.input[0], "Transpose", [1, 0, 2])
    if t is None:
        raise _No("starts from a state that is not the batch-first h0")
    covered += [g.fold.producer[value], sq, sl, t]
    return t.input[0]


def _concat(g: Graph, values: list[str], axis: int, needed: bool = True):
    n = g.readers(values[0])
    n = next((c for c in n if c.op_type == "Concat" and list(c.input) == values and g.attr(c, "axis") == axis), None)
    if n is None and needed:
        raise _No("joins its steps other than torch does")
    return n


def _rnn(g: Graph, t) -> tuple:
    x, seq = t.input[0], t.output[0]
    length = (g.shapes.get(seq) or [None])[0]
    if not isinstance(length, int):
        raise _No("reads a sequence of unknown length")
    covered, weights, finals, inits, runs = [t], {}, [], set(), []
    while True:
        mms = [m for m in g.readers(seq) if m.op_type == "MatMul" and g.fold.const(m.input[1]) is not None]
        if not mms:
            break
        layer = [_run(g, m, length, covered) for m in mms]
        if [r["reverse"] for r in layer] not in ([False], [False, True]) or (runs and len(layer) != len(runs[0])):
            raise _No("runs its directions other than torch does")
        parts = []
        for d, r in enumerate(layer):
            inits.add(_init(g, r["init"], len(runs) * len(layer) + d, covered))
            cat = _concat(g, r["hs"][::-1] if r["reverse"] else r["hs"], 0, needed=False)
            covered += [cat] if cat is not None else []
            parts.append(cat.output[0] if cat is not None else None)  # None: the sequence is not used
            finals.append(r["hs"][-1])
            sfx = "_reverse" if r["reverse"] else ""
            weights |= {f"weight_ih_l{len(runs)}{sfx}": r["w_ih"], f"weight_hh_l{len(runs)}{sfx}": r["w_hh"]}
            if r["b_ih"] is not None and r["b_hh"] is not None:
                weights |= {f"bias_ih_l{len(runs)}{sfx}": r["b_ih"], f"bias_hh_l{len(runs)}{sfx}": r["b_hh"]}
        runs.append(layer)
        if None in parts:
            seq = None
            break
        if len(parts) == 2:
            both = _concat(g, parts, 2)
            covered.append(both)
            parts = [both.output[0]]
        seq = parts[0]
    if not runs or len(inits) != 1:
        raise _No("is not one stack of layers from one initial state")
    outs, used = [], []
    back = [u for u in g.readers(seq) if u.op_type == "Transpose" and list(g.attr(u, "perm") or []) == [1, 0, 2]] \
        if seq is not None else []
    if back:
        covered.append(back[0])
        outs.append(back[0].output[0])
        used.append("sequence")
    squeezes = [next((u for u in g.readers(h) if u.op_type == "Squeeze"), None) for h in finals]
    if all(squeezes):
        ups = [_one(g, sq.output[0], "Unsqueeze") for sq in squeezes]
        stack = _concat(g, [u.output[0] for u in ups], 0) if len(ups) > 1 else ups[0]
        tr = _one(g, stack.output[0], "Transpose")
        covered += [*squeezes, *ups, stack, tr]
        outs.append(tr.output[0])
        used.append("h_n")
    if len(used) != 1:
        raise _No(f"uses {' and '.join(used) or 'none of its outputs'}; one RNN block gives one (`returns`)")
    h = runs[0][0]["w_hh"].shape[0]
    p = {"hidden_size": h, "num_layers": len(runs), "bidirectional": len(runs[0]) == 2,
         "bias": "bias_ih_l0" in weights, "nonlinearity": runs[0][0]["act"].lower(), "returns": used[0]}
    return [x, *[v for v in inits if v]], outs[0], covered, p, weights


def match_unrolled(graph, consts: dict[str, np.ndarray], shapes: dict) -> dict[str, tuple]:
    """{first node's output: (inputs, output, covered outputs, block, params, weights, hint)}."""
    g = Graph(graph, consts, shapes)
    order = {id(n): k for k, n in enumerate(g.nodes)}
    found = {}
    for t in g.nodes:
        path = module_path(t, "RNN")
        if not path or t.op_type != "Transpose" or list(g.attr(t, "perm") or []) != [1, 0, 2] or t.input[0] not in shapes:
            continue
        try:
            ins, out, covered, p, weights = _rnn(g, t)
            kind = REGISTRY["RNN"]
            want = kind.param_shapes(kind.params.model_validate(p | {"input_size": int(shapes[t.input[0]][-1])}))
            if set(want) != set(weights) or any(tuple(weights[k].shape) != tuple(v) for k, v in want.items()):
                raise _No("has tensors of other shapes")
        except (_No, ValueError, KeyError, IndexError, TypeError, AttributeError):
            continue  # its operators stay, each listed
        nodes = {id(n): n for n in covered}
        made = {o for n in nodes.values() for o in n.output if o}
        if any(o in g.results or {id(u) for u in g.readers(o)} - set(nodes) for o in made - {out}):
            continue
        defaults = kind.params().model_dump()
        first = min(nodes.values(), key=lambda n: order[id(n)])
        found[first.output[0]] = (ins, out, made, "RNN", {k: v for k, v in p.items() if v != defaults.get(k)},
                                  {k: np.asarray(v, np.float32) for k, v in weights.items()}, path)
    return found
