""".onnx bytes -> a graph document plus its weights, with the `onnx` package only.

The file is parsed (protobuf) and checked with onnx's checker and shape inference; no
operator is ever run. Data flows from the graph inputs through operators that map to
blocks (importers.onnx_ops); values computed only from shapes or constants (the Shape ->
Concat -> Reshape chains exporters write for a dynamic batch) are not part of the design.
An operator without a block stays in the design as a node of type `onnx.<Op>`, so the
canvas shows it, validation names it, and it is listed in `unsupported`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from blocklab.blocks import REGISTRY
from blocklab.graph.checks import RESERVED_IDS
from blocklab.importers.layout import layout
from blocklab.importers.onnx_layers import HANDLERS as MORE
from blocklab.importers.onnx_loops import match_loops
from blocklab.importers.onnx_modules import match_layers
from blocklab.importers.onnx_ops import HANDLERS, PASS, Rec, Unmapped
from blocklab.importers.onnx_patterns import match_batch_reduce, match_gelu, match_groupnorm, match_softplus
from blocklab.importers.onnx_recurrent import HANDLERS as RECURRENT, match_recurrent
from blocklab.importers.onnx_unrolled import match_unrolled
from blocklab.importers.onnx_scopes import where

MAX_ONNX_NODES = 100_000


class OnnxInvalid(ValueError):
    """Not a model this importer can read at all (malformed, external data, no inputs)."""


@dataclass
class OnnxImport:
    graph: dict[str, Any]
    weights: dict[str, torch.Tensor]  # keyed as the design's state_dict
    unsupported: list[dict[str, str]]


class _Op:
    """One ONNX node as the handlers see it."""

    def __init__(self, node, g: "_Reader"):
        self.node, self.g, self.opset = node, g, g.opset
        from onnx import helper

        self.attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def attr(self, name: str, default: Any = None) -> Any:
        v = self.attrs.get(name, default)
        return v.decode() if isinstance(v, bytes) else list(v) if isinstance(v, (list, tuple)) else v

    def has(self, i: int) -> bool:
        return len(self.node.input) > i and self.node.input[i] != ""

    def is_const(self, i: int) -> bool:
        return self.has(i) and self.node.input[i] in self.g.consts

    def const(self, i: int, what: str) -> np.ndarray:
        if not self.is_const(i):
            raise Unmapped(f"takes its {what} from a computed value; a block needs it constant")
        return self.g.consts[self.node.input[i]]

    def data(self, i: int) -> str:
        name = self.node.input[i]
        if name not in self.g.refs:
            raise Unmapped(f"takes input '{name}', which is a constant or computed from shapes only")
        return name

    def shape(self, name: str) -> list | None:
        return self.g.shapes.get(name)

    def rank(self, name: str) -> int | None:
        s = self.shape(name)
        return None if s is None else len(s)

    def only_output(self, i: int) -> None:
        if any(self.g.consumers.get(o, 0) for j, o in enumerate(self.node.output) if j != i and o):
            raise Unmapped("uses an extra output (indices, statistics, a mask) that no block gives")

    def fuse_bias(self, x: str, c: np.ndarray) -> str | None:
        """MatMul(x, W) + b, as exporters write a Linear on 3-d inputs: the bias joins the Linear."""
        rec = self.g.refs.get(x)
        if rec is None or rec.type != "Linear" or "bias" in rec.weights or self.g.consumers.get(x, 0) != 1:
            return None
        if c.size != rec.params["out_features"]:
            return None
        rec.weights["bias"] = c.reshape(-1)
        rec.params.pop("bias", None)
        rec.hint = _hint(self.node.input, self.g.consts) or rec.hint
        return PASS


def _listed(v: str | list[str]) -> list[str]:
    """A chain's input or output: one value, or several (a recurrent block's x, h0, c0)."""
    return [v] if isinstance(v, str) else list(v)


def _hint(inputs, consts) -> str:
    """A node id from its tensors' names: 'hidden.weight' -> 'hidden', 'net.0.bias' -> 'net_0'."""
    for name in inputs:
        if name in consts and "." in name:
            return name.rpartition(".")[0]
    return ""


class _Reader:
    def __init__(self, model):
        from onnx import numpy_helper

        g = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.consts: dict[str, np.ndarray] = {}
        for t in g.initializer:
            if t.data_location == 1:  # TensorProto.EXTERNAL
                raise OnnxInvalid(f"initializer '{t.name}' is stored in an external file; save the model as one file")
            self.consts[t.name] = numpy_helper.to_array(t)
        self.shapes: dict[str, list] = {}
        for v in [*g.input, *g.value_info, *g.output]:
            t = v.type.tensor_type
            if t.HasField("shape"):
                self.shapes[v.name] = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]
        self.consumers: dict[str, int] = {}
        self.users: dict[str, list] = {}  # value -> the nodes reading it
        for n in g.node:
            for i in n.input:
                self.consumers[i] = self.consumers.get(i, 0) + 1
                self.users.setdefault(i, []).append(n)
        self.graph_inputs = {v.name for v in g.input}
        for o in g.output:
            self.consumers[o.name] = self.consumers.get(o.name, 0) + 1
        self.refs: dict[str, Rec] = {}
        self.taps: dict[str, str] = {}  # value -> the named output of its Rec it is (an LSTM's c_n)
        self.recs: list[Rec] = []
        self.unsupported: list[dict[str, str]] = []
        self.why: dict[str, str] = {}  # a recurrent op's first output -> why no block stands for it
        self.graph = g

    def read(self) -> None:
        from onnx import numpy_helper

        for v in self.graph.input:
            if v.name in self.consts:
                continue  # older files list initializers as inputs too
            dims = self.shapes.get(v.name)
            if not dims or len(dims) < 2 or not all(isinstance(d, int) and d > 0 for d in dims[1:]):
                raise OnnxInvalid(f"input '{v.name}' has shape {dims}; it needs a batch dim and fixed sizes after it")
            self._add(Rec("Input", {"shape": dims[1:]}, hint=v.name), [v.name])
        # Chains that stand for one layer: {first node's output: (x, last output, covered, block, params)}
        chains = {k: (x, out, cov, "GELU", {}, {}, "gelu")
                  for k, (x, out, cov) in match_gelu(self.graph.node, self.consts).items()}
        chains |= {k: (x, out, cov, "Softplus", p, {}, "softplus")
                   for k, (x, out, cov, p) in match_softplus(self.graph.node, self.consts).items()}
        chains |= {k: (x, out, cov, "GroupNorm", p, w, "groupnorm")
                   for k, (x, out, cov, p, w) in match_groupnorm(self.graph.node, self.consts).items()}
        chains |= {k: (x, out, cov, "CustomLayer", p, {}, p["name"].lower())
                   for k, (x, out, cov, p) in match_batch_reduce(self.graph.node, self.consts, self.shapes).items()}
        chains |= {k: (x, out, cov, "CustomLayer", p | {"name": "WhileLoop"}, {}, "while_loop")
                   for k, (x, out, cov, p) in match_loops(self.graph, self.consts).items()}
        chains |= match_layers(self.graph, self.consts, self.shapes)
        recurrent, self.why = match_recurrent(self.graph, self.consts, self.shapes)
        chains |= recurrent | match_unrolled(self.graph, self.consts, self.shapes)
        skip: set[str] = set()  # outputs of the nodes an emitted chain stands for
        for n in self.graph.node:
            if n.output and n.output[0] in skip:
                continue
            if n.output and n.output[0] in chains and all(x in self.refs for x in _listed(chains[n.output[0]][0])):
                x, out, covered, block, params, weights, hint = chains[n.output[0]]
                self._add(Rec(block, params, _listed(x), weights, hint=hint), _listed(out))
                if isinstance(out, dict):  # a recurrent block's outputs: value -> its name, None for the default
                    self.taps |= {v: port for v, port in out.items() if port is not None}
                skip |= covered
                continue
            if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
                attr = next((a for a in n.attribute if a.name == "value"), None)
                if attr is not None:
                    self.consts[n.output[0]] = numpy_helper.to_array(attr.t)
                    continue
            if n.op_type in ("Shape", "Size") or not any(i in self.refs for i in n.input):
                continue  # shapes, and what is computed from shapes and constants only: not part of the design
            self._node(n)
        for o in self.graph.output:
            src = self.refs.get(o.name)
            if src is None:
                raise OnnxInvalid(f"output '{o.name}' is not computed from the inputs")
            self._add(Rec("Output", {}, [o.name], hint=o.name), [])

    def _node(self, n) -> None:
        op = _Op(n, self)
        label = n.name or n.output[0]
        try:
            if n.domain not in ("", "ai.onnx"):
                raise Unmapped(f"is from the operator set '{n.domain}'")
            handler = MORE.get(n.op_type) or RECURRENT.get(n.op_type) or HANDLERS.get(n.op_type)
            if handler is None:
                raise Unmapped("has no block")
            rec = handler(op)
        except Exception as e:  # Unmapped, or attributes a hand-made file got wrong (the checker is not exhaustive)
            reason = str(e) if isinstance(e, Unmapped) else f"cannot be read: {type(e).__name__}: {str(e)[:200]}"
            reason += where(n)
            self.unsupported.append({"node": label, "op": n.op_type, "reason": reason})
            rec = Rec(f"onnx.{n.op_type}", {}, [i for i in n.input if i in self.refs])
        if rec == PASS:
            src = next(i for i in n.input if i in self.refs)
            self.refs[n.output[0]] = self.refs[src]
            if src in self.taps:
                self.taps[n.output[0]] = self.taps[src]
            return
        if isinstance(rec, dict):  # one node per used output (Split -> one Chunk per piece)
            for out, piece in rec.items():
                piece.hint = f"{re.sub(r'^node_|^/', '', n.name) or 'chunk'}_{piece.params['index']}"
                self._add(piece, [out])
            return
        rec.hint = rec.hint or _hint(n.input, self.consts) or re.sub(r"^node_|^/", "", n.name) or n.op_type.lower()
        # A kept onnx.<Op> node stands for all its outputs (a Loop's carried values), so what
        # they feed stays in the design, listed, rather than making the file unreadable.
        self._add(rec, [o for o in n.output if o] if rec.type.startswith("onnx.") else [n.output[0]])

    def _add(self, rec: Rec, outputs: list[str]) -> None:
        self.recs.append(rec)
        for o in outputs:
            self.refs[o] = rec

    def document(self, name: str) -> tuple[dict, dict[str, torch.Tensor]]:
        used: set[str] = set()
        for rec in self.recs:
            base = re.sub(r"\W", "_", rec.hint).strip("_")[:100] or rec.type.lower().replace(".", "_")
            base = f"{base}_" if base in RESERVED_IDS else base
            rec.id, k = base, 2
            while rec.id in used:
                rec.id, k = f"{base}_{k}", k + 1
            used.add(rec.id)
        nodes, edges, weights = [], [], {}
        for rec in self.recs:
            nodes.append({"id": rec.id, "type": rec.type, **({"params": rec.params} if rec.params else {})})
            kind = REGISTRY.get(rec.type)
            ports = [p.name for p in kind.ports] if kind else [""] * len(rec.inputs)
            for port, value in zip(ports, rec.inputs):
                edges.append({"source": self.refs[value].id, **({"source_port": self.taps[value]} if value in self.taps else {}),
                              "target": rec.id, **({"target_port": port} if len(ports) > 1 and port else {})})
            for k, arr in rec.weights.items():
                if np.asarray(arr).dtype.kind not in "fiu":
                    raise OnnxInvalid(f"the tensor for '{rec.id}.{k}' holds {np.asarray(arr).dtype}, not numbers")
                t = torch.from_numpy(np.array(arr, copy=True))
                weights[f"{rec.id}.{k}"] = t if k == "num_batches_tracked" else t.to(torch.float32)
        layout(nodes, edges)
        return {"version": 1, "name": name[:200] or "onnx", "nodes": nodes, "edges": edges, "blocks": {}}, weights


def from_onnx(raw: bytes, name: str = "onnx") -> OnnxImport:
    """Parse and map; OnnxInvalid when the file is not a readable single-file ONNX model."""
    import onnx
    from google.protobuf.message import DecodeError

    model = onnx.ModelProto()
    try:
        model.ParseFromString(raw)
    except (DecodeError, ValueError, RuntimeError) as e:
        raise OnnxInvalid(f"not an ONNX model: {str(e)[:200] or 'the protobuf does not parse'}") from None
    if not model.graph.node and not model.graph.input:
        raise OnnxInvalid("not an ONNX model: it has no graph")
    if len(model.graph.node) > MAX_ONNX_NODES:
        raise OnnxInvalid(f"the model has {len(model.graph.node):,} nodes; the limit is {MAX_ONNX_NODES:,}")
    try:
        onnx.checker.check_model(model)
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as e:  # checker.ValidationError, InferenceError, ...: the file is not a valid model
        raise OnnxInvalid(f"not a valid ONNX model: {str(e).splitlines()[0][:300] if str(e) else type(e).__name__}") from None
    reader = _Reader(model)
    reader.read()
    graph, weights = reader.document(model.graph.name if name == "onnx" and model.graph.name else name)
    return OnnxImport(graph, weights, reader.unsupported)
