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


def _weights(nodes, path: str, consts: dict[str, np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
    key = {f"{path}.{k}".replace(".", "_"): k for k in names}
    out: dict[str, np.ndarray] = {}
    for n in nodes:
        mine = [key[t] for t in _tokens(n) if t in key]
        c = [consts[i] for i in n.input if i in consts and consts[i].size > 1]
        weight = next((k for k in mine if k.endswith("weight")), None)
        bias = next((k for k in mine if k.endswith("bias")), None)
        if n.op_type == "MatMul" and c and weight:
            out[weight] = c[0].T
        elif n.op_type == "Gemm" and c and weight:
            out[weight] = c[0] if any(a.name == "transB" and a.i for a in n.attribute) else c[0].T
            if bias:
                out[bias] = c[1] if len(c) > 1 else np.zeros(c[0].shape[0], np.float32)  # a zero bias is dropped
        elif n.op_type == "Add" and c and bias:
            out[bias] = c[0]
        elif n.op_type == "LayerNormalization" and weight:
            out[weight] = consts[n.input[1]]
            if bias:
                out[bias] = consts[n.input[2]]
    return out


def _attention_params(nodes, path: str, x: str, d: int, heads: int, consts: dict) -> dict[str, Any]:
    return {"embed_dim": d, "kdim": d, "vdim": d, "num_heads": heads,
            "bias": any(t.endswith("in_proj_bias") for n in nodes for t in _tokens(n))}


def _encoder_params(nodes, path: str, x: str, d: int, heads: int, consts: dict) -> dict[str, Any]:
    norms = [n for n in nodes if n.op_type == "LayerNormalization"]
    ff = next((consts[i] for n in nodes if _sub(n, path) == "linear1" and n.op_type in ("MatMul", "Gemm")
               for i in n.input if i in consts and consts[i].ndim == 2), None)
    if len(norms) != 2 or ff is None:
        raise _NotIt("not two LayerNorms and a feed-forward net")
    return {"d_model": d, "nhead": heads, "dim_feedforward": int(ff.shape[1] if ff.shape[0] == d else ff.shape[0]),
            "activation": "gelu" if {n.op_type for n in nodes} & {"Gelu", "Erf"} else "relu",
            "layer_norm_eps": float(f"{next((a.f for a in norms[0].attribute if a.name == 'epsilon'), 1e-5):.7g}"),
            "norm_first": norms[0].input[0] == x,  # pre-norm: norm1 reads the layer's input itself
            "bias": any(t.endswith("linear1_bias") for n in nodes for t in _tokens(n))}


# The block params each layer's operators give (the tensors then come from _weights).
_PARAMS = {"MultiheadAttention": _attention_params, "TransformerEncoderLayer": _encoder_params}


def _layer(nodes, path: str, block: str, x: str, shapes: dict, consts: dict) -> tuple[dict, dict[str, np.ndarray]]:
    ops = {n.op_type for n in nodes}
    if ops - _OPS:
        raise _NotIt(f"has {sorted(ops - _OPS)}")
    if sum(n.op_type == "Softmax" for n in nodes) != 1:  # one attention, no other normalisation
        raise _NotIt("not one attention")
    d = (shapes.get(x) or [None])[-1]
    if not isinstance(d, int):
        raise _NotIt("features of unknown size")
    attn = [n for n in nodes if block == "MultiheadAttention" or _sub(n, path).endswith("self_attn")]
    # The per-head reshape [L, B * heads, head_dim] (the fused one is [L, B, 3, d]).
    heads = {d // int(c[-1]) for n in attn if n.op_type == "Reshape" and n.input[1] in consts
             for c in [consts[n.input[1]].tolist()] if len(c) == 3 and 0 < c[-1] < d and d % c[-1] == 0}
    if len(heads) != 1:
        raise _NotIt(f"no single head count ({sorted(heads)})")
    kind = REGISTRY[block]
    p = _PARAMS[block](nodes, path, x, d, heads.pop(), consts)
    want = kind.param_shapes(kind.params.model_validate(p))
    w = _weights(nodes, path, consts, list(want))
    if set(w) != set(want) or any(tuple(w[k].shape) != tuple(s) for k, s in want.items()):
        raise _NotIt(f"tensors {sorted(set(want) ^ set(w))} not found, or of other shapes")
    defaults = kind.params().model_dump()
    # Sizes are left to inference, settings at their defaults left out (as the PyTorch importer writes them).
    doc = {k: v for k, v in p.items() if k not in ("d_model", "embed_dim", "kdim", "vdim") and v != defaults.get(k)}
    return doc, {k: np.asarray(v, np.float32) for k, v in w.items()}


def match_layers(graph, consts: dict[str, np.ndarray], shapes: dict) -> dict[str, tuple]:
    """{first node's output: (x, last output, covered outputs, block, params, weights)}."""
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
    found = {}
    for path, nodes in groups.items():
        made = {o for n in nodes for o in n.output}
        mine = {at[id(n)] for n in nodes}
        ins = {i for n in nodes for i in n.input if i and i not in made and i not in consts}
        outs = {o for o in made if users.get(o, set()) - mine or o in results}
        if len(ins) != 1 or len(outs) != 1:
            continue
        x, out = ins.pop(), outs.pop()
        try:
            params, weights = _layer(nodes, path, kinds[path], x, shapes, consts)
        except (_NotIt, ValueError, KeyError, IndexError):
            continue  # the operators stay, each mapped or listed on its own
        found[nodes[0].output[0]] = (x, out, made, kinds[path], params, weights, path)
    return found
