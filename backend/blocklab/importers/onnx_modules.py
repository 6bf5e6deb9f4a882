"""torch's Transformer layers in a torch-exported .onnx file -> their blocks.

torch.onnx.export writes nn.TransformerEncoderLayer (and a self-attention
nn.MultiheadAttention) as dozens of operators that work sequence-first, which no per-sample
block computes one by one. The file's metadata says which module each operator came from
(`namespace`) and which parameters it reads (`pkg.torch.onnx.fx_node`: %p_encoder_layers_0_
linear1_weight): the operators of one such module become that block, its tensors read from
the constants those operators hold (a MatMul's weight is stored transposed, an all-zero bias
the exporter dropped is zeros), and its params from them: d_model and dim_feedforward from
the weights, nhead from the per-head reshape, the activation, eps and norm_first from the
operators. Nothing is run. Anything else in the module's operators (a mask, another layout)
leaves it to the per-operator path, which lists it.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np

from blocklab.blocks import REGISTRY
from blocklab.importers.layers import module_blocks
from blocklab.importers.onnx_fold import Folder

# What the exporter writes for these layers without a mask; anything else: not recognised.
_OPS = {"Transpose", "MatMul", "Add", "Reshape", "Unsqueeze", "Squeeze", "Gather", "Shape", "Slice", "Concat", "Mul",
        "Softmax", "Gemm", "LayerNormalization", "Relu", "Gelu", "Erf", "Div", "Split", "Identity", "Cast", "Sqrt",
        "Constant", "Expand"}


class _NotIt(Exception):
    pass


def _meta(n) -> dict[str, str]:
    return {p.key: p.value for p in n.metadata_props}


@functools.lru_cache(maxsize=1)
def _layers() -> dict[str, str]:
    """The torch class (as the metadata spells it) of each block _PARAMS reads."""
    return {f"{c.__module__}.{c.__qualname__}": b.name for c, b in module_blocks().items() if b.name in _PARAMS}


def _scope(n) -> tuple[str, str] | None:
    """(path, block) of the outermost Transformer layer the node belongs to."""
    for part in _meta(n).get("namespace", "").split("/")[1:-1]:
        path, _, cls = part.partition(": ")
        if cls in _layers():
            return path, _layers()[cls]
    return None


def _sub(n, path: str) -> str:
    """The node's module path below `path` ('' for the layer itself, 'linear1', 'self_attn')."""
    parts = [p.partition(": ")[0] for p in _meta(n).get("namespace", "").split("/")[1:-1]]
    inner = parts[-1] if parts else ""
    return inner[len(path) + 1:] if inner.startswith(path + ".") else ""


def _tokens(n) -> list[str]:
    return re.findall(r"%p_(\w+)", _meta(n).get("pkg.torch.onnx.fx_node", ""))


def _weights(nodes, path: str, consts: dict[str, np.ndarray], names: list[str], fold=None) -> dict[str, np.ndarray]:
    key = {f"{path}.{k}".replace(".", "_"): k for k in names}
    # A parameter the exporter left as it is keeps its name (an initializer 'blk.in_proj_weight');
    # the others are read from the operators that use them (a MatMul holds its weight transposed).
    out: dict[str, np.ndarray] = {k: consts[f"{path}.{k}"] for k in names if f"{path}.{k}" in consts}
    for n in nodes:
        mine = [key[t] for t in _tokens(n) if t in key]
        c = [consts[i] for i in n.input if i in consts and consts[i].size > 1]
        weight = next((k for k in mine if k.endswith("weight")), None)
        bias = next((k for k in mine if k.endswith("bias")), None)
        if n.op_type == "MatMul" and c and weight:
            out.setdefault(weight, c[0].T)
        elif n.op_type == "Gemm" and c and weight:
            out.setdefault(weight, c[0] if any(a.name == "transB" and a.i for a in n.attribute) else c[0].T)
            if bias:  # a zero bias is dropped
                out.setdefault(bias, c[1] if len(c) > 1 else np.zeros(c[0].shape[0], np.float32))
        elif n.op_type == "Add" and c and bias:
            out.setdefault(bias, c[0])
        elif n.op_type == "LayerNormalization" and weight:
            out.setdefault(weight, consts[n.input[1]])
            if bias:
                out.setdefault(bias, consts[n.input[2]])
    for k in names:  # an in-projection's bias the exporter split from an equal tensor (zeros, shared)
        if k.endswith("in_proj_bias") and k not in out and fold is not None:
            sub = k[:-len("in_proj_bias")].rstrip(".")
            adds = [n for n in nodes if n.op_type == "Add" and _sub(n, path) == sub]
            pieces = [c for n in adds for c in [fold.const(n.input[1])] if c is not None and c.ndim == 1]
            if pieces and len(pieces) == len(adds):
                out[k] = np.concatenate(pieces)
    return out


def _has(nodes, path: str, consts: dict, name: str) -> bool:
    """Whether the layer has the parameter: an initializer of that name, or an operator reading it."""
    return f"{path}.{name}" in consts or any(t.endswith(name.replace(".", "_")) for n in nodes for t in _tokens(n))


def _attention_params(nodes, path: str, ports: list[str], d: int, heads: int, consts: dict, shapes: dict) -> dict[str, Any]:
    kdim, vdim = ((shapes.get(v) or [d])[-1] for v in (ports * 3)[1:3]) if len(ports) > 1 else (d, d)
    return {"embed_dim": d, "kdim": kdim, "vdim": vdim, "num_heads": heads,
            "bias": _has(nodes, path, consts, "in_proj_bias")}


def _layer_params(norms_in_layer: int):
    def params(nodes, path: str, ports: list[str], d: int, heads: int, consts: dict, shapes: dict) -> dict[str, Any]:
        norms = [n for n in nodes if n.op_type == "LayerNormalization"]
        ff = next((consts[i] for n in nodes if _sub(n, path) == "linear1" and n.op_type in ("MatMul", "Gemm")
                   for i in n.input if i in consts and consts[i].ndim == 2), None)
        if len(norms) != norms_in_layer or ff is None:
            raise _NotIt(f"not {norms_in_layer} LayerNorms and a feed-forward net")
        return {"d_model": d, "nhead": heads, "dim_feedforward": int(ff.shape[1] if ff.shape[0] == d else ff.shape[0]),
                "activation": "gelu" if {n.op_type for n in nodes} & {"Gelu", "Erf"} else "relu",
                "layer_norm_eps": float(f"{next((a.f for a in norms[0].attribute if a.name == 'epsilon'), 1e-5):.7g}"),
                "norm_first": norms[0].input[0] == ports[0],  # pre-norm: norm1 reads the layer's input itself
                "bias": _has(nodes, path, consts, "linear1.bias")}

    return params


# The block params each layer's operators give (the tensors then come from _weights), and how
# many attentions (Softmax) it holds.
_PARAMS = {"MultiheadAttention": (_attention_params, 1), "TransformerEncoderLayer": (_layer_params(2), 1),
           "TransformerDecoderLayer": (_layer_params(3), 2)}


def _ports(nodes, block: str, ins: set[str]) -> list[str]:
    """The layer's inputs in port order, told apart by where they flow: an attention's query
    and key meet in the MatMul before its Softmax, its value in the MatMul after it."""
    reach: dict[str, set[str]] = {x: {x} for x in ins}
    for n in nodes:  # in graph order: which of the inputs each value is computed from
        r = set().union(*(reach.get(i, set()) for i in n.input))
        for o in n.output:
            reach[o] = r
    made = {o: n for n in nodes for o in n.output}
    attention = []  # (query . key MatMul, weights . value MatMul) around each Softmax
    for s in (n for n in nodes if n.op_type == "Softmax"):
        qk = made.get(s.input[0])
        av = next((n for n in nodes if n.op_type == "MatMul" and n.input[0] == s.output[0]), None)
        if qk is None or qk.op_type != "MatMul" or av is None:
            raise _NotIt("an attention other than softmax(q k) v")
        attention.append((qk, av))

    def one(value: str) -> str:
        r = reach.get(value, set())
        if len(r) != 1:
            raise _NotIt("an attention whose query, key or value mixes the inputs")
        return next(iter(r))

    if block == "TransformerDecoderLayer":  # self-attention first, then the memory's keys and values
        ports = [one(attention[0][0].input[0]), one(attention[1][1].input[1])]
    elif block == "MultiheadAttention":
        qk, av = attention[0]
        ports = [one(qk.input[0]), one(qk.input[1]), one(av.input[1])]
        ports = ports[:1] if len(set(ports)) == 1 else ports  # self-attention: the query alone
    else:
        ports = list(ins)
    if set(ports) != ins:
        raise _NotIt("inputs that are not the layer's ports")
    return ports


def _layer(nodes, path: str, block: str, ins: set[str], shapes: dict, consts: dict, fold) -> tuple[list, dict, dict]:
    ops = {n.op_type for n in nodes}
    if ops - _OPS:
        raise _NotIt(f"has {sorted(ops - _OPS)}")
    read, attentions = _PARAMS[block]
    if sum(n.op_type == "Softmax" for n in nodes) != attentions:  # its attentions, no other normalisation
        raise _NotIt(f"not {attentions} attention(s)")
    ports = _ports(nodes, block, ins)
    d = (shapes.get(ports[0]) or [None])[-1]
    if not isinstance(d, int):
        raise _NotIt("features of unknown size")
    attn = [n for n in nodes if block == "MultiheadAttention" or _sub(n, path).endswith(("self_attn", "multihead_attn"))]
    # The per-head reshape [L, B * heads, head_dim] (the fused one is [L, B, 3, d]).
    heads = {d // int(c[-1]) for n in attn if n.op_type == "Reshape" and n.input[1] in consts
             for c in [consts[n.input[1]].tolist()] if len(c) == 3 and 0 < c[-1] < d and d % c[-1] == 0}
    if len(heads) != 1:
        raise _NotIt(f"no single head count ({sorted(heads)})")
    kind = REGISTRY[block]
    p = read(nodes, path, ports, d, heads.pop(), consts, shapes)
    want = kind.param_shapes(kind.params.model_validate(p))
    w = _weights(nodes, path, consts, list(want), fold)
    if set(w) != set(want) or any(tuple(w[k].shape) != tuple(s) for k, s in want.items()):
        raise _NotIt(f"tensors {sorted(set(want) ^ set(w))} not found, or of other shapes")
    defaults = kind.params().model_dump()
    # Sizes are left to inference, settings at their defaults left out (as the PyTorch importer writes them).
    doc = {k: v for k, v in p.items() if k not in ("d_model", "embed_dim", "kdim", "vdim") and v != defaults.get(k)}
    return ports, doc, {k: np.asarray(v, np.float32) for k, v in w.items()}


def match_layers(graph, consts: dict[str, np.ndarray], shapes: dict) -> dict[str, tuple]:
    """{first node's output: (inputs in port order, last output, covered outputs, block, params, weights, hint)}."""
    groups: dict[str, list] = {}
    kinds: dict[str, str] = {}
    for n in graph.node:
        s = _scope(n)
        if s is not None:
            groups.setdefault(s[0], []).append(n)
            kinds[s[0]] = s[1]
    users: dict[str, set[int]] = {}  # value -> the nodes reading it (by position), built once
    for k, n in enumerate(graph.node):
        for i in n.input:
            users.setdefault(i, set()).add(k)
    at = {id(n): k for k, n in enumerate(graph.node)}
    results = {v.name for v in graph.output}
    fold = Folder(graph.node, consts, shapes)  # a Split of in_proj_weight is a constant, not an input
    found = {}
    for path, nodes in groups.items():
        made = {o for n in nodes for o in n.output}
        mine = {at[id(n)] for n in nodes}
        ins = {i for n in nodes for i in n.input if i and i not in made and fold.const(i) is None}
        outs = {o for o in made if users.get(o, set()) - mine or o in results}
        if not 1 <= len(ins) <= 3 or len(outs) != 1:
            continue
        try:
            ports, params, weights = _layer(nodes, path, kinds[path], ins, shapes, consts, fold)
        except (_NotIt, ValueError, KeyError, IndexError):
            continue  # the operators stay, each mapped or listed on its own
        found[nodes[0].output[0]] = (ports, outs.pop(), made, kinds[path], params, weights, path)
    return found
