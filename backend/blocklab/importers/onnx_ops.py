"""ONNX operators -> block nodes, one handler per operator (read by importers.onnx_import).

Each handler reads one ONNX node through `Op` (attributes, constant inputs, known shapes)
and returns a `Rec` (block type, params, the values feeding its ports, its tensors named
as the block's parameters), `PASS` (the output is its input) or raises Unmapped. Numbers
are read from the protobuf only: nothing in the model is run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

PASS = "pass"


class Unmapped(Exception):
    pass


@dataclass
class Rec:
    """A design node before ids are given: ids come from weight names where the file has them."""

    type: str
    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # ONNX value names, in port order
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    hint: str = ""
    id: str = ""


def _num(v: float) -> float:
    return float(f"{float(v):.7g}")  # float32 attributes (9.99999974e-06) back to what was written (1e-05)


def _int_or_pair(v: list[int]) -> int | list[int]:
    return v[0] if len(set(v)) == 1 else list(v)


def _sym_pads(pads: list[int], n: int) -> list[int]:
    pads = list(pads) or [0] * (2 * n)
    if pads[:n] != pads[n:]:
        raise Unmapped(f"pads {pads} differ at the two ends; blocks pad both ends alike")
    return pads[:n]


def _conv(op) -> Rec:
    w = op.const(1, "weight")
    nd = w.ndim - 2
    transposed = op.node.op_type == "ConvTranspose"
    block = {(1, False): "Conv1d", (2, False): "Conv2d", (3, False): "Conv3d", (2, True): "ConvTranspose2d"}.get((nd, transposed))
    if block is None:
        raise Unmapped(f"is a {nd}-d {'transposed ' if transposed else ''}convolution; no block computes it")
    if op.attr("auto_pad", "NOTSET") not in ("NOTSET", "VALID") or op.attr("output_shape") is not None:
        raise Unmapped("sets auto_pad or output_shape; give explicit pads")
    group = op.attr("group", 1)
    k = list(op.attr("kernel_shape", list(w.shape[2:])))
    p = {"out_channels": int(w.shape[1] * group if transposed else w.shape[0]), "kernel_size": _int_or_pair(k),
         "stride": _int_or_pair(op.attr("strides", [1] * nd)), "padding": _int_or_pair(_sym_pads(op.attr("pads", []), nd)),
         "dilation": _int_or_pair(op.attr("dilations", [1] * nd)), "groups": group, "bias": op.has(2)}
    if transposed:
        p["output_padding"] = _int_or_pair(op.attr("output_padding", [0] * nd))
    weights = {"weight": w} | ({"bias": op.const(2, "bias")} if op.has(2) else {})
    return Rec(block, p, [op.data(0)], weights)


def _gemm(op) -> Rec:
    if op.attr("transA", 0) or op.attr("alpha", 1.0) != 1.0 or (op.has(2) and op.attr("beta", 1.0) != 1.0):
        raise Unmapped("uses transA, alpha or beta; a Linear block computes x W^T + b")
    b = op.const(1, "weight")
    w = b if op.attr("transB", 0) else b.T
    weights = {"weight": w}
    if op.has(2):
        weights["bias"] = np.broadcast_to(op.const(2, "bias"), (w.shape[0],)).copy()
    return Rec("Linear", {"out_features": int(w.shape[0]), "bias": op.has(2)}, [op.data(0)], weights)


def _matmul(op) -> Rec:
    if op.is_const(1) and not op.is_const(0):
        b = op.const(1, "weight")
        if b.ndim != 2:
            raise Unmapped(f"multiplies by a constant of shape {list(b.shape)}; a Linear block needs a matrix")
        return Rec("Linear", {"out_features": int(b.shape[1]), "bias": False}, [op.data(0)], {"weight": b.T})
    return Rec("MatMul", {}, [op.data(0), op.data(1)])


_EXPR = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Pow": "**"}


def _binary(op) -> Rec | str:
    sym = _EXPR[op.node.op_type]
    if not op.is_const(0) and not op.is_const(1):
        block = {"Add": "Add", "Mul": "Multiply"}.get(op.node.op_type)
        if block:
            return Rec(block, {}, [op.data(0), op.data(1)])
        return Rec("CustomLayer", {"expr": f"x {sym} y", "name": op.node.op_type}, [op.data(0), op.data(1)])
    ci = 1 if op.is_const(1) else 0
    c, x = op.const(ci, "constant"), op.data(1 - ci)
    if c.size != 1:
        fused = op.fuse_bias(x, c) if op.node.op_type == "Add" else None
        if fused is not None:
            return fused
        return _with_tensor(op, sym, ci, c, x)
    v = float(c.reshape(()))
    if not np.isfinite(v):
        raise Unmapped(f"uses the constant {v}")
    if sym == "*":
        return Rec("Scale", {"factor": v}, [x])
    lit = repr(v) if v >= 0 else f"({v!r})"
    expr = f"x {sym} {lit}" if ci == 1 else f"{lit} {sym} x"
    return Rec("CustomLayer", {"expr": expr, "name": op.node.op_type}, [x])


def _tensor_name(onnx_name: str) -> str:
    """The parameter's name in the CustomLayer: the initializer's own ('position.pos' -> 'pos')
    where the language takes it as a name, else 'c'."""
    from blocklab.blocks.custom import CustomP, program

    name = onnx_name.rpartition(".")[2]
    try:
        program(CustomP.model_validate({"expr": f"x + {name}", "parameters": {name: {"shape": [1]}}}))
    except Exception:  # ValidationError, ExprError: a reserved or malformed name
        return "c"
    return name


def _with_tensor(op, sym: str, ci: int, c: np.ndarray, x: str) -> Rec:
    """x + pos with pos [L, d] (a learned position), x * mask, ...: a CustomLayer holding the
    tensor as its parameter, where it is the same for every sample of the batch."""
    rank = op.rank(x)
    shape = list(c.shape)
    if rank is not None and len(shape) == rank and shape[0] == 1:
        shape = shape[1:]  # [1, L, d]: broadcast over the batch, the same as [L, d]
    if rank is None or len(shape) >= rank or not shape:
        raise Unmapped(f"combines a tensor with a constant of shape {list(c.shape)} that differs along the batch")
    name = _tensor_name(op.node.input[ci])
    expr = f"x {sym} {name}" if ci == 1 else f"{name} {sym} x"
    return Rec("CustomLayer", {"expr": expr, "name": op.node.op_type, "parameters": {name: {"shape": shape}}}, [x],
               {name: c.reshape(shape)})


def _pool(block: str) -> Callable:
    def handle(op) -> Rec:
        k = list(op.attr("kernel_shape", []))
        if len(k) != 2 or any(d != 1 for d in op.attr("dilations", [1, 1])) or op.attr("storage_order", 0):
            raise Unmapped("is not a plain 2-d pooling (dilations, storage order or rank)")
        pads = _sym_pads(op.attr("pads", []), 2)
        if block == "AvgPool2d" and any(pads) and not op.attr("count_include_pad", 0):
            raise Unmapped("leaves padding out of the average (count_include_pad=0); the block counts it")
        op.only_output(0)
        return Rec(block, {"kernel_size": _int_or_pair(k), "stride": _int_or_pair(op.attr("strides", [1, 1])),
                           "padding": _int_or_pair(pads), "ceil_mode": bool(op.attr("ceil_mode", 0))}, [op.data(0)])

    return handle


def _reduce(block: str) -> Callable:
    def handle(op) -> Rec:
        axes = op.attr("axes") if op.attr("axes") is not None else (op.const(1, "axes").tolist() if op.has(1) else None)
        rank = op.rank(op.node.input[0])
        if not axes or rank is None or any(a % rank == 0 for a in axes):
            raise Unmapped("reduces over the batch (or every dim); a block reduces each sample")
        return Rec(block, {"dims": [int(a) for a in axes], "keepdim": bool(op.attr("keepdims", 1))}, [op.data(0)])

    return handle


def _softmax(block: str) -> Callable:
    def handle(op) -> Rec:
        rank = op.rank(op.node.input[0])
        axis = op.attr("axis", -1 if op.opset >= 13 else 1)
        if rank is None or axis % rank == 0 or (op.opset < 13 and axis % rank != rank - 1):
            raise Unmapped(f"normalises over axis {axis}; a block takes one feature dim")
        return Rec(block, {"dim": int(axis)}, [op.data(0)])

    return handle


def _batchnorm(op) -> Rec:
    rank = op.rank(op.node.input[0])
    block = {2: "BatchNorm1d", 3: "BatchNorm1d", 4: "BatchNorm2d"}.get(rank)
    if block is None or op.attr("training_mode", 0):
        raise Unmapped("is not an inference-mode batch norm over [N, C] / [N, C, L] / [N, C, H, W]")
    op.only_output(0)
    scale, b, mean, var = (op.const(i, n) for i, n in enumerate(("scale", "bias", "mean", "var"), 1))
    params = {"eps": _num(op.attr("epsilon", 1e-5)), "momentum": round(1 - float(op.attr("momentum", 0.9)), 6)}
    return Rec(block, params, [op.data(0)], {"weight": scale, "bias": b, "running_mean": mean, "running_var": var,
                                             "num_batches_tracked": np.array(0, dtype=np.int64)})


def _layernorm(op) -> Rec:
    scale = op.const(1, "scale")
    rank, axis = op.rank(op.node.input[0]), op.attr("axis", -1)
    if rank is None or axis % rank == 0 or rank - axis % rank != scale.ndim:
        raise Unmapped(f"normalises from axis {axis}, which does not match its scale of shape {list(scale.shape)}")
    op.only_output(0)
    weights = {"weight": scale} | ({"bias": op.const(2, "bias")} if op.has(2) else {})
    return Rec("LayerNorm", {"normalized_shape": list(scale.shape), "eps": _num(op.attr("epsilon", 1e-5)),
                             "bias": op.has(2)}, [op.data(0)], weights)


def _reshape(op) -> Rec:
    """Reshape, Flatten, Squeeze, Unsqueeze: per sample, the output shape the file states."""
    x, out = op.node.input[0], op.node.output[0]
    si, so = op.shape(x), op.shape(out)
    if op.node.op_type == "Flatten" and op.attr("axis", 1) % max(len(si or [1]), 1) == 1:
        return Rec("Flatten", {}, [op.data(0)])
    if op.node.op_type == "Reshape" and op.is_const(1):
        t = op.const(1, "shape").tolist()
        if t and (t[0] == -1 and -1 not in t[1:] or (t[0] == 0 and not op.attr("allowzero", 0))) and 0 not in t[1:]:
            return Rec("Reshape", {"shape": [int(d) for d in t[1:]] or [1]}, [op.data(0)])
    if si and so and si[0] == so[0] and all(isinstance(d, int) for d in so[1:]) and len(so) > 1:
        return Rec("Reshape", {"shape": list(so[1:])}, [op.data(0)])
    raise Unmapped("reshapes across the batch, or to a shape the file does not state")


def _transpose(op) -> Rec:
    perm = list(op.attr("perm", []))
    moved = [i for i, p in enumerate(perm) if i != p]
    if not perm or perm[0] != 0 or len(moved) != 2:
        raise Unmapped(f"permutes dims {perm}; a block swaps two non-batch dims")
    return Rec("CustomLayer", {"expr": f"transpose(x, {moved[0]}, {moved[1]})", "name": "Transpose"}, [op.data(0)])


def _concat(op) -> Rec:
    axis = op.attr("axis", 1)
    rank = op.rank(op.node.input[0])
    ins = [op.data(i) for i in range(len(op.node.input))]
    if not 2 <= len(ins) <= 4 or rank is None or axis % rank == 0:
        raise Unmapped(f"joins {len(ins)} tensors along axis {axis}; Concat joins 2 to 4 along a feature dim")
    return Rec("Concat", {"dim": int(axis)}, ins)


def _gather(op) -> Rec:
    table = op.const(0, "weight")
    if op.attr("axis", 0) != 0 or table.ndim != 2 or op.is_const(1):
        raise Unmapped("is not an embedding lookup (a constant table indexed by an input)")
    return Rec("Embedding", {"num_embeddings": int(table.shape[0]), "embedding_dim": int(table.shape[1])},
               [op.data(1)], {"weight": table})


def _act(block: str, **attrs: tuple[str, Any]) -> Callable:
    def handle(op) -> Rec:
        p = {k: (_num(op.attr(a, d)) if isinstance(d, float) else op.attr(a, d)) for k, (a, d) in attrs.items()}
        return Rec(block, p, [op.data(0)])

    return handle


def _expr(text: str) -> Callable:
    return lambda op: Rec("CustomLayer", {"expr": text, "name": op.node.op_type}, [op.data(0)])


HANDLERS: dict[str, Callable] = {
    "Gemm": _gemm, "MatMul": _matmul, "Conv": _conv, "ConvTranspose": _conv,
    "Add": _binary, "Sub": _binary, "Mul": _binary, "Div": _binary, "Pow": _binary,
    "MaxPool": _pool("MaxPool2d"), "AveragePool": _pool("AvgPool2d"),
    "GlobalAveragePool": lambda op: Rec("AdaptiveAvgPool2d", {}, [op.data(0)]),
    "ReduceMean": _reduce("Mean"), "ReduceSum": _reduce("Sum"),
    "Softmax": _softmax("Softmax"), "LogSoftmax": _softmax("LogSoftmax"),
    "BatchNormalization": _batchnorm, "LayerNormalization": _layernorm,
    "Reshape": _reshape, "Flatten": _reshape, "Squeeze": _reshape, "Unsqueeze": _reshape,
    "Transpose": _transpose, "Concat": _concat, "Gather": _gather,
    "Relu": _act("ReLU"), "Sigmoid": _act("Sigmoid"), "Tanh": _act("Tanh"), "Softplus": _act("Softplus"),
    "LeakyRelu": _act("LeakyReLU", negative_slope=("alpha", 0.01)), "Elu": _act("ELU", alpha=("alpha", 1.0)),
    "Gelu": _act("GELU", approximate=("approximate", "none")),
    "Sqrt": _expr("sqrt(x)"), "Exp": _expr("exp(x)"), "Log": _expr("log(x)"), "Abs": _expr("abs(x)"), "Neg": _expr("-x"),
    "Identity": lambda op: PASS, "Dropout": lambda op: PASS,
}
