"""torch's batch-first LSTM / GRU (and an ONNX RNN op) in an .onnx file -> one recurrent block.

torch.onnx.export writes nn.LSTM(batch_first=True) sequence-first: x [B, L, F] ->
Transpose -> one ONNX LSTM op per layer (Y [L, dirs, B, H], Y_h / Y_c [dirs, B, H]), each
layer's Y -> Transpose [L, B, dirs, H] -> Reshape [L, B, dirs * H] into the next one, the last
one back to [B, L, dirs * H]; the final states Concat over the layers [layers * dirs, B, H]
and Transpose to the block's per-sample [B, layers * dirs, H]. The initial states come as
Transpose(h0) sliced per layer, or as zeros expanded to the batch when none is given. An
encoder's h_n that feeds a decoder's h0 is not transposed at all (the two transposes cancel):
the decoder slices the encoder's Concat itself. All of that is one block, its weights
reordered to torch's gates (ONNX's LSTM is i o f c, torch's i f g o; GRU z r h, torch r z n)
and its bias split into bias_ih / bias_hh. Nothing is run; the constants the exporter did
not fold are folded with importers.onnx_fold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from blocklab.blocks import REGISTRY
from blocklab.importers.onnx_fold import Graph
from blocklab.importers.onnx_ops import Unmapped
from blocklab.importers.onnx_scopes import module_path

# ONNX op -> (gates, torch's gate k is ONNX's gate order[k], the default activations per direction)
_GATES = {"LSTM": (4, (0, 2, 3, 1), ["Sigmoid", "Tanh", "Tanh"]), "GRU": (3, (1, 0, 2), ["Sigmoid", "Tanh"]),
          "RNN": (1, (0,), ["Tanh"])}
_STATES = ("h_n", "c_n")  # output 1 and 2 of the op; input 5 and 6 are their initial values
_ZERO = ""


class _No(Exception):
    pass


@dataclass
class _Stack:
    layers: list
    block: str
    x: str
    hidden: int
    dirs: int
    params: dict
    weights: dict
    covered: list = field(default_factory=list)  # ONNX nodes
    seq: str | None = None  # the batch-first output sequence, when the file uses it
    states: list = field(default_factory=list)  # [h, c]: the sequence-first final state, or None
    inits: list = field(default_factory=list)  # [h0, c0]: _ZERO, a batch-first value, or another stack's state
    state_inits: list = field(default_factory=list)  # the inits that are another stack's state


def _layer_weights(g: Graph, op, block: str, layer: int, hidden: int, dirs: int, n_in: int) -> dict:
    gates, order, _ = _GATES[block]
    w, r = g.fold.const(op.input[1]), g.fold.const(op.input[2])
    b = g.fold.const(op.input[3]) if len(op.input) > 3 and op.input[3] else None
    gh = gates * hidden
    if w is None or r is None or (len(op.input) > 3 and op.input[3] and b is None):
        raise _No("takes weights that are not constants (or too large to fold)")
    if w.shape != (dirs, gh, n_in) or r.shape != (dirs, gh, hidden) or (b is not None and b.shape != (dirs, 2 * gh)):
        raise _No(f"has weights of shapes {w.shape}, {r.shape}; layer {layer} expects [{dirs}, {gh}, {n_in}]")

    def torch_order(a: np.ndarray) -> np.ndarray:
        return np.concatenate([a[k * hidden:(k + 1) * hidden] for k in order], axis=0).astype(np.float32)

    out = {}
    for d, sfx in enumerate(("", "_reverse")[:dirs]):
        out[f"weight_ih_l{layer}{sfx}"] = torch_order(w[d])
        out[f"weight_hh_l{layer}{sfx}"] = torch_order(r[d])
        if b is not None:
            out[f"bias_ih_l{layer}{sfx}"], out[f"bias_hh_l{layer}{sfx}"] = torch_order(b[d][:gh]), torch_order(b[d][gh:])
    return out


def _check_layer(g: Graph, op, block: str, hidden: int, direction: str) -> None:
    dirs = 2 if direction == "bidirectional" else 1
    if op.op_type != block or g.attr(op, "hidden_size") != hidden or g.attr(op, "direction", "forward") != direction:
        raise _No("stacks layers of different kinds, sizes or directions")
    if direction not in ("forward", "bidirectional"):
        raise _No(f"runs in direction '{direction}'; a block runs forward (or both ways)")
    if g.attr(op, "clip") is not None or g.attr(op, "layout", 0) or g.attr(op, "input_forget", 0):
        raise _No("sets clip, layout or input_forget, which torch's layers do not")
    acts = g.attr(op, "activations")
    default = _GATES[block][2]
    if block == "RNN":
        if acts is not None and set(acts) not in ({"Tanh"}, {"Relu"}):
            raise _No(f"uses activations {acts}; torch's RNN uses tanh or relu")
    elif acts is not None and acts != default * dirs:
        raise _No(f"uses activations {acts}, not torch's {default}")
    if block == "GRU" and g.attr(op, "linear_before_reset", 0) != 1:
        raise _No("applies the reset gate before the linear map (linear_before_reset=0); torch's GRU applies it after")
    if any(len(op.input) > i and op.input[i] for i in (4, 7)):
        raise _No("takes sequence lengths or peepholes, which torch's layers do not")


def _seq_reshape(g: Graph, y: str, hidden: int, dirs: int):
    """Y [L, dirs, B, H] -> Transpose -> Reshape [L, B, dirs * H]: (transpose, reshape) or None."""
    t = [u for u in g.users.get(y, [])]
    if len(t) != 1 or t[0].op_type != "Transpose" or list(g.attr(t[0], "perm") or []) != [0, 2, 1, 3]:
        raise _No("reads its output sequence in a layout no block gives")
    r = g.readers(t[0].output[0])
    shape = g.shapes.get(t[0].output[0])
    if len(r) != 1 or r[0].op_type != "Reshape" or shape is None or len(shape) != 4:
        raise _No("reads its output sequence in a layout no block gives")
    target, zero = g.fold.dims(r[0].input[1]), not g.attr(r[0], "allowzero", 0)
    if target is None or len(target) != 3 or target[0] not in (shape[0], *[0] * zero) \
            or target[1] not in (shape[1], *[0] * zero) or target[2] not in (dirs * hidden, -1):
        raise _No(f"reshapes its output sequence to {target}, not [length, batch, directions * hidden]")
    return [t[0], r[0]]  # the Shape reads of t only feed the target, which is not part of the design


def _inits(g: Graph, s: _Stack) -> None:
    for k in range(len(_STATES) if s.block == "LSTM" else 1):
        bases = set()
        for layer, op in enumerate(s.layers):
            v = op.input[5 + k] if len(op.input) > 5 + k else ""
            sl = g.made_by(v, "Slice") if v else None
            if sl is not None:
                want = [[layer * s.dirs], [(layer + 1) * s.dirs], [0]]
                got = [g.fold.dims(i) for i in sl.input[1:4]]
                if got[:2] != want[:2] or (len(got) > 2 and got[2] not in (None, [0])) or (len(sl.input) > 4 and g.fold.dims(sl.input[4]) != [1]):
                    raise _No(f"takes layer {layer}'s initial state from another slice of the states")
                s.covered.append(sl)
                v = sl.input[0]
            elif v and len(s.layers) > 1:
                raise _No("takes its stacked layers' initial states other than as slices of one value")
            bases.add(_ZERO if not v or g.is_zeros(v) else v)
        if len(bases) != 1:
            raise _No("takes initial states from several values")
        base = bases.pop()
        t = g.made_by(base, "Transpose", [1, 0, 2]) if base else None
        if t is not None:  # Transpose(h0 [B, layers * dirs, H]) itself: h0 feeds the block
            if {id(u) for u in g.users[base]} - {id(n) for n in (*s.covered, *s.layers)}:
                raise _No("shares its transposed initial state with other operators")
            s.covered.append(t)
            base = t.input[0]
        elif base:
            s.state_inits.append(base)
        s.inits.append(base)
    if s.block == "LSTM" and (s.inits[0] == _ZERO) != (s.inits[1] == _ZERO):
        raise _No("takes an initial hidden state without a cell state (or the other way); the block takes both or neither")


def _stack(g: Graph, first) -> _Stack:
    """The layers from the one whose input is Transpose(x [B, L, F]), with weights and params."""
    block, hidden, direction = first.op_type, g.attr(first, "hidden_size"), g.attr(first, "direction", "forward")
    t = g.made_by(first.input[0], "Transpose", [1, 0, 2])
    shape = g.shapes.get(t.input[0])
    if not isinstance(hidden, int) or shape is None or len(shape) != 3 or not isinstance(shape[2], int):
        raise _No("reads a sequence of unknown size")
    if len(g.users[first.input[0]]) != 1:
        raise _No("shares its transposed input with other operators")
    dirs = 2 if direction == "bidirectional" else 1
    s = _Stack([first], block, t.input[0], hidden, dirs, {}, {}, covered=[t])
    while True:
        op = s.layers[-1]
        _check_layer(g, op, block, hidden, direction)
        s.weights |= _layer_weights(g, op, block, len(s.layers) - 1, hidden, dirs, shape[2] if len(s.layers) == 1 else dirs * hidden)
        y = op.output[0] if op.output else ""
        if not y or not g.users.get(y):
            break
        reshape = _seq_reshape(g, y, hidden, dirs)
        s.covered += reshape
        after = g.users.get(reshape[-1].output[0], [])
        if len(after) == 1 and after[0].op_type == block and after[0].input[0] == reshape[-1].output[0]:
            s.layers.append(after[0])
            continue
        back = g.made_by(after[0].output[0], "Transpose", [1, 0, 2]) if len(after) == 1 else None
        if back is None:
            raise _No("reads its output sequence in a layout no block gives")
        s.covered.append(back)
        s.seq = back.output[0]
        break
    for k in range(len(_STATES) if block == "LSTM" else 1):
        outs = [op.output[1 + k] if len(op.output) > 1 + k else "" for op in s.layers]
        used = [o for o in outs if o and g.users.get(o)]
        if not used:
            s.states.append(None)
        elif len(s.layers) == 1:
            s.states.append(outs[0])
        else:
            cat = g.users.get(outs[-1], [None])[0]
            if cat is None or cat.op_type != "Concat" or g.attr(cat, "axis") != 0 or list(cat.input) != outs \
                    or any(len(g.users.get(o, [])) != 1 for o in outs):
                raise _No(f"uses its layers' final states ({_STATES[k]}) other than stacked as torch gives them")
            s.covered.append(cat)
            s.states.append(cat.output[0])
    _inits(g, s)
    p = {"hidden_size": hidden, "num_layers": len(s.layers), "bidirectional": dirs == 2,
         "bias": len(first.input) > 3 and bool(first.input[3])}
    if block == "RNN":
        p["nonlinearity"] = "relu" if "Relu" in (g.attr(first, "activations") or []) else "tanh"
    s.params = p
    return s


def _outputs(g: Graph, s: _Stack, claimed: dict[str, set[int]]) -> tuple[str, dict[str, str | None]]:
    """(returns, {value standing for one of the block's outputs: its name, None for the one `returns`
    names}), given the slices other stacks take their initial state from (`claimed`: state value ->
    ids of the nodes reading it). Edges from the other values name their output (source_port)."""
    used, outs = [], {}
    if s.seq is not None:
        used.append("sequence")
        outs[s.seq] = "sequence"
    for name, state in zip(_STATES, s.states):
        if state is None:
            continue
        if state in g.results:
            raise _No(f"gives its final state ({name}) sequence-first as a result of the file")
        for u in g.users.get(state, []):
            if id(u) in claimed.get(state, set()):
                continue
            if u.op_type != "Transpose" or list(g.attr(u, "perm") or []) != [1, 0, 2]:
                raise _No(f"feeds its final state ({name}) to a {u.op_type} in a layout no block gives")
            s.covered.append(u)
            outs[u.output[0]] = name
        if state in claimed:  # another stack's initial state: that value names this block too
            outs[state] = name
        used.append(name)
    if not used:
        raise _No("gives nothing the file uses")
    return used[0], {v: None if name == used[0] else name for v, name in outs.items()}


def _chain(g: Graph, s: _Stack, returns: str, outs: list[str]) -> tuple:
    kind = REGISTRY[s.block]
    defaults = kind.params().model_dump()
    p = s.params | {"returns": returns}
    want = kind.param_shapes(kind.params.model_validate(p | {"input_size": int(g.shapes[s.x][2])}))
    if set(want) != set(s.weights) or any(tuple(s.weights[k].shape) != tuple(v) for k, v in want.items()):
        raise _No(f"has tensors {sorted(set(want) ^ set(s.weights))} missing or of other shapes")
    nodes = {id(n): n for n in (*s.layers, *s.covered)}
    made = {o for n in nodes.values() for o in n.output if o}
    for o in made - set(outs):  # nothing but the block's output leaves it
        if o in g.results or {id(u) for u in g.users.get(o, []) if u.op_type != "Shape"} - set(nodes):
            raise _No("has an intermediate value other operators read")
    ports = [s.x, *[v for v in s.inits if v]]
    params = {k: v for k, v in p.items() if v != defaults.get(k)}
    return ports, outs, made, s.block, params, s.weights, module_path(s.layers[0], s.block) or s.block.lower()


def match_recurrent(graph, consts: dict[str, np.ndarray], shapes: dict) -> tuple[dict[str, tuple], dict[str, str]]:
    """({first node's output: (inputs, outputs, covered, block, params, weights, hint)},
    {a recurrent op's first output: why it is not read back})."""
    g = Graph(graph, consts, shapes)
    order = {id(n): k for k, n in enumerate(g.nodes)}
    why: dict[str, str] = {}
    stacks: list[_Stack] = []
    for n in g.nodes:
        if n.op_type in _GATES and n.domain in ("", "ai.onnx") and n.input and g.made_by(n.input[0], "Transpose", [1, 0, 2]):
            try:
                stacks.append(_stack(g, n))
            except (_No, ValueError, KeyError, IndexError, TypeError) as e:
                why[n.output[0]] = str(e) if isinstance(e, _No) else f"cannot be read: {type(e).__name__}"
    covered0 = {id(s): list(s.covered) for s in stacks}
    ok, found = list(stacks), {}
    while True:  # drop the stacks that fail, then those whose initial state a dropped one gives
        states = {st for s in ok for st in s.states if st}
        claimed: dict[str, set[int]] = {}
        for s in ok:
            for v in s.state_inits:
                claimed.setdefault(v, set()).update(id(n) for n in (*s.layers, *s.covered) if v in n.input)
        found, failed = {}, []
        for s in ok:
            s.covered = list(covered0[id(s)])
            try:
                if set(s.state_inits) - states:
                    raise _No("takes its initial state from a value no recurrent block gives")
                c = _chain(g, s, *_outputs(g, s, claimed))
                first = min((*s.layers, *s.covered), key=lambda n: order[id(n)])
                found[first.output[0]] = c
            except (_No, ValueError, KeyError, IndexError, TypeError) as e:  # ValueError: params the block refuses
                why[s.layers[0].output[0]] = str(e) if isinstance(e, _No) else f"cannot be one {s.block} block: {_said(e)}"
                failed.append(s)
        if not failed:
            return found, why
        ok = [s for s in ok if s not in failed]


def _said(e: Exception) -> str:
    """A pydantic refusal as 'hidden_size: Input should be ...', anything else in one line."""
    errors = getattr(e, "errors", None)
    if callable(errors):
        return "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in errors()[:3])
    return str(e).splitlines()[0][:200] if str(e) else type(e).__name__


def _unmatched(op) -> None:
    raise Unmapped(op.g.why.get(op.node.output[0], "is a recurrent layer not fed as torch's batch-first layers feed it"))


HANDLERS = {op: _unmatched for op in _GATES}
