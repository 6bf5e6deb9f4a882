"""A user's attention with several inputs through torch.onnx.export -> the ONNX importer:
nn.MultiheadAttention(q, k, v) and nn.TransformerDecoderLayer(x, memory) each come back as
one block, its inputs on the right ports, its weights loading strictly, with torch's outputs.
Torch (the original module) is the reference."""

from __future__ import annotations

import contextlib
import inspect
import io

import pytest
import torch
from torch import nn

from blocklab.blocks import REGISTRY
from blocklab.graph.analyze import analyze
from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from blocklab.importers.onnx_import import from_onnx

pytest.importorskip("onnxscript")


def _export(module: nn.Module, xs: tuple) -> bytes:
    names = list(inspect.signature(module.forward).parameters)[:len(xs)]
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    with contextlib.redirect_stdout(io.StringIO()):
        p = torch.onnx.export(module.eval(), xs, dynamo=True, opset_version=18, verbose=False, report=False,
                              dynamic_shapes={k: {0: batch} for k in names})
    return p.model_proto.SerializeToString()


def _check(module: nn.Module, xs: tuple, block: str) -> dict:
    """Import, build, load strictly, compare with torch; the block's node."""
    imported = from_onnx(_export(module, xs))
    assert imported.unsupported == [], imported.unsupported
    nodes = [n for n in imported.graph["nodes"] if n["type"] not in ("Input", "Output")]
    assert [n["type"] for n in nodes] == [block]
    doc = GraphDoc.model_validate(imported.graph)
    model = build(doc).eval()
    model.load_state_dict(imported.weights, strict=True)
    root = analyze(doc).root
    by_name = dict(zip(inspect.signature(module.forward).parameters, xs))
    with torch.no_grad():
        got = model(*[by_name[root.nodes[i].id] for i in root.inputs])
        torch.testing.assert_close(got[0] if isinstance(got, (tuple, list)) else got, module(*xs), atol=1e-5, rtol=1e-4)
    return {"node": nodes[0], "ports": {e.get("target_port"): e["source"] for e in imported.graph["edges"]
                                        if e["target"] == nodes[0]["id"]}}


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        with torch.no_grad():  # biases off zero, so each is read from its own place
            for p in self.attn.parameters():
                p.add_(torch.randn_like(p) * 0.3)

    def forward(self, q, k, v):
        return self.attn(q, k, v, need_weights=False)[0]


class Decoder(nn.Module):
    """A fresh layer: its biases are zeros, which the exporter shares between the attentions."""

    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)

    def forward(self, x, memory):
        return self.layer(x, memory)


def test_attention_with_three_inputs_comes_back_on_its_ports():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    xs = (torch.randn(3, 5, 8, generator=g), torch.randn(3, 6, 8, generator=g), torch.randn(3, 6, 8, generator=g))
    got = _check(Attention(), xs, "MultiheadAttention")
    assert got["ports"] == {"query": "q", "key": "k", "value": "v"}
    default = REGISTRY["MultiheadAttention"].params().num_heads  # params at their defaults are left out
    assert got["node"].get("params", {}).get("num_heads", default) == 2


def test_a_decoder_layer_comes_back_as_one_block():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    xs = (torch.randn(3, 5, 8, generator=g), torch.randn(3, 7, 8, generator=g))
    got = _check(Decoder(), xs, "TransformerDecoderLayer")
    assert got["ports"] == {"x": "x", "memory": "memory"}
    p = REGISTRY["TransformerDecoderLayer"].params().model_dump() | got["node"].get("params", {})
    assert p["nhead"] == 2 and p["dim_feedforward"] == 16
