"""ONNX operators for the layers importers.onnx_ops leaves out: 1-d pooling, a global max,
zero padding, resizing, instance norm, PReLU, Mish, HardSwish, a constant index, and the
Cast an exporter puts between an Input and an embedding lookup. Same contract: a `Rec`,
PASS, or Unmapped naming what the operator does that no block does."""

from __future__ import annotations

from typing import Callable

import numpy as np

from blocklab.importers.onnx_ops import PASS, Rec, Unmapped, _int_or_pair, _num, _sym_pads


def _pool1d(block: str) -> Callable:
    def handle(op) -> Rec:
        k = list(op.attr("kernel_shape", []))
        if len(k) != 1 or any(d != 1 for d in op.attr("dilations", [1])):
            raise Unmapped(f"pools over {len(k)} dims with dilations; no block computes it")
        pad = _sym_pads(op.attr("pads", []), 1)[0]
        if block == "AvgPool1d" and pad and not op.attr("count_include_pad", 0):
            raise Unmapped("leaves padding out of the average (count_include_pad=0); the block counts it")
        op.only_output(0)
        stride = op.attr("strides", [1])[0]
        return Rec(block, {"kernel_size": k[0], "stride": stride, "padding": pad, "ceil_mode": bool(op.attr("ceil_mode", 0))},
                   [op.data(0)])

    return handle


def _pool(op) -> Rec:
    rank = op.rank(op.node.input[0])
    return {3: _pool1d("MaxPool1d" if op.node.op_type == "MaxPool" else "AvgPool1d")}.get(rank, _two_d(op))(op)


def _two_d(op) -> Callable:
    from blocklab.importers.onnx_ops import HANDLERS

    return HANDLERS[op.node.op_type]


def _reduce_max(op) -> Rec:
    axes = op.attr("axes") if op.attr("axes") is not None else (op.const(1, "axes").tolist() if op.has(1) else None)
    rank = op.rank(op.node.input[0])
    if rank == 4 and axes is not None and sorted(a % 4 for a in axes) == [2, 3] and op.attr("keepdims", 1):
        return Rec("AdaptiveMaxPool2d", {"output_size": 1}, [op.data(0)])
    raise Unmapped(f"takes the max over axes {axes}; a block takes it over height and width (keeping them as 1)")


def _pad(op) -> Rec:
    if op.attr("mode", "constant") != "constant" or (op.has(2) and float(np.asarray(op.const(2, "value")).reshape(())) != 0):
        raise Unmapped("pads with something other than zeros")
    pads = [int(v) for v in op.const(1, "pads").tolist()]
    if op.has(3) or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
        raise Unmapped(f"pads {pads}; a ZeroPad2d block pads height and width of [N, C, H, W]")
    top, left, bottom, right = pads[2], pads[3], pads[6], pads[7]
    sides = [left, right, top, bottom]
    if min(sides) < 0:
        raise Unmapped("crops (negative padding)")
    return Rec("ZeroPad2d", {"padding": sides[0] if len(set(sides)) == 1 else sides}, [op.data(0)])


_LINEAR = {3: "linear", 4: "bilinear", 5: "trilinear"}


def _resize(op) -> Rec:
    rank = op.rank(op.node.input[0])
    if not op.has(2) or op.has(3) or rank is None:
        raise Unmapped("resizes to given sizes; an Upsample block scales by a factor")
    scales = [float(v) for v in op.const(2, "scales").tolist()]
    if scales[:2] != [1.0, 1.0] or len(set(scales[2:])) != 1:
        raise Unmapped(f"scales the dims by {scales}; an Upsample block scales the spatial dims alike")
    mode, coords = op.attr("mode", "nearest"), op.attr("coordinate_transformation_mode", "half_pixel")
    if mode == "nearest" and coords == "asymmetric" and op.attr("nearest_mode", "round_prefer_floor") == "floor":
        p = {"mode": "nearest"}
    elif mode in ("linear", "cubic") and coords in ("pytorch_half_pixel", "half_pixel", "align_corners"):
        if mode == "cubic" and (rank != 4 or abs(op.attr("cubic_coeff_a", -0.75) + 0.75) > 1e-6):
            raise Unmapped("is a cubic resize torch's bicubic does not compute")
        p = {"mode": "bicubic" if mode == "cubic" else _LINEAR[rank], "align_corners": coords == "align_corners"}
    else:
        raise Unmapped(f"resizes with mode={mode}, coordinate_transformation_mode={coords}, which torch's Upsample does not")
    return Rec("Upsample", {"scale_factor": _num(scales[2]), **p}, [op.data(0)])


def _instance_norm(op) -> Rec:
    scale, bias = op.const(1, "scale"), op.const(2, "bias")
    if op.rank(op.node.input[0]) != 4:
        raise Unmapped("normalises a tensor that is not [N, C, H, W]")
    plain = bool(np.all(scale == 1) and np.all(bias == 0))  # affine=False writes ones and zeros
    p = {"num_features": int(scale.size), "eps": _num(op.attr("epsilon", 1e-5)), "affine": not plain}
    return Rec("InstanceNorm2d", p, [op.data(0)], {} if plain else {"weight": scale, "bias": bias})


def _prelu(op) -> Rec:
    slope = op.const(1, "slope")
    if slope.size > 1 and slope.reshape(-1).shape[0] != int(np.prod(slope.shape)):
        raise Unmapped(f"has slopes of shape {list(slope.shape)}")
    flat = slope.reshape(-1).astype(np.float32)
    return Rec("PReLU", {"num_parameters": int(flat.size)}, [op.data(0)], {"weight": flat})


def _select(op) -> Rec:
    """Gather of one constant position from a computed tensor: x.select(dim, index)."""
    index = op.const(1, "index")
    rank, axis = op.rank(op.node.input[0]), op.attr("axis", 0)
    if index.ndim != 0 or rank is None or axis % rank == 0:
        raise Unmapped("gathers several positions, or along the batch; a Select block picks one feature position")
    return Rec("Select", {"dim": int(axis), "index": int(index)}, [op.data(0)])


def _gather(op) -> Rec:
    if op.is_const(0):
        from blocklab.importers.onnx_ops import HANDLERS

        return HANDLERS["Gather"](op)  # an embedding lookup
    return _select(op)


def _cast(op) -> str:
    """An Input cast to integers for an embedding lookup: the Embedding block takes the Input itself."""
    src, out = op.node.input[0], op.node.output[0]
    readers = op.g.users.get(out, [])
    if src not in op.g.graph_inputs or not readers or not all(n.op_type == "Gather" and list(n.input[1:]) == [out]
                                                             for n in readers):
        raise Unmapped("converts a value's type other than an Input's indices fed to an embedding")
    return PASS


def _slice(op) -> Rec:
    """Slice along one feature dim with constant bounds -> a Slice block (x[:, start:end:step])."""
    shape = op.shape(op.node.input[0])
    starts, ends = op.const(1, "starts").reshape(-1).tolist(), op.const(2, "ends").reshape(-1).tolist()
    axes = op.const(3, "axes").reshape(-1).tolist() if op.has(3) else list(range(len(starts)))
    steps = op.const(4, "steps").reshape(-1).tolist() if op.has(4) else [1] * len(starts)
    if shape is None or len(starts) != 1 or len(axes) != 1 or steps[0] < 1:
        raise Unmapped(f"slices axes {axes} with steps {steps}; a Slice block keeps start:end:step (step >= 1) along one dim")
    axis = int(axes[0]) % len(shape)
    if axis == 0 or not isinstance(shape[axis], int):
        raise Unmapped("slices along the batch, or a dim of unknown size")
    kept = range(shape[axis])[slice(int(starts[0]), int(ends[0]), int(steps[0]))]  # ONNX clips as Python does
    end = None if kept.stop >= shape[axis] else kept.stop
    return Rec("Slice", {"dim": axis, "start": kept.start, "end": end, "step": int(steps[0])}, [op.data(0)])


def _split(op) -> dict[str, Rec]:
    """Split into torch.chunk's pieces -> a Chunk block for each piece that is used."""
    shape, axis = op.shape(op.node.input[0]), op.attr("axis", 0)
    if shape is None or axis % len(shape) == 0 or not isinstance(shape[axis], int):
        raise Unmapped("splits along the batch, or a dim of unknown size")
    size, n = shape[axis], len(op.node.output)
    sizes = op.const(1, "split").tolist() if op.has(1) else None
    each = -(-size // n)
    chunked = [min(each, size - i * each) for i in range(n)]  # torch.chunk(x, n): ceil-sized pieces, the last smaller
    if (sizes is not None and sizes != chunked) or any(s <= 0 for s in chunked):
        raise Unmapped(f"splits into sizes {sizes}; a Chunk block cuts torch.chunk's equal pieces")
    x = op.data(0)
    return {o: Rec("Chunk", {"chunks": n, "dim": int(axis), "index": i}, [x])
            for i, o in enumerate(op.node.output) if o and op.g.consumers.get(o, 0)}


HANDLERS: dict[str, Callable] = {
    "Split": _split, "Slice": _slice,
    "MaxPool": _pool, "AveragePool": _pool, "ReduceMax": _reduce_max, "Pad": _pad, "Resize": _resize,
    "InstanceNormalization": _instance_norm, "PRelu": _prelu, "Gather": _gather, "Cast": _cast,
    "Mish": lambda op: Rec("Mish", {}, [op.data(0)]), "HardSwish": lambda op: Rec("Hardswish", {}, [op.data(0)]),
}
