"""Edges that name a source port: a recurrent block's sequence, h_n and c_n taken at once.

The case the issue names: an LSTM encoder hands both its final states to the decoder, as
D2L's and torch's seq2seq do. torch is the reference: the hand-written module, loaded with
the built model's weights, gives the same outputs; the export computes the same.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from blocklab.graph.analyze import analyze
from blocklab.graph.build import build, source_for
from blocklab.graph.document import GraphDoc
from graphs import load_exported

B, L, T, D, E, H = 3, 5, 4, 7, 6, 8


def _seq2seq(layers: int, bidir: bool = False) -> dict:
    dirs = 2 if bidir else 1
    return {
        "name": "lstm seq2seq",
        "nodes": [{"id": "src", "type": "Input", "params": {"shape": [L, D]}},
                  {"id": "tgt", "type": "Input", "params": {"shape": [T, E]}},
                  {"id": "enc", "type": "LSTM", "params": {"hidden_size": H, "num_layers": layers, "bidirectional": bidir}},
                  {"id": "dec", "type": "LSTM", "params": {"hidden_size": H, "num_layers": layers * dirs}},
                  {"id": "head", "type": "Linear", "params": {"out_features": 3}},
                  {"id": "Y", "type": "Output"}, {"id": "memory", "type": "Output"}],
        "edges": [{"source": "src", "target": "enc"},
                  {"source": "tgt", "target": "dec", "target_port": "x"},
                  {"source": "enc", "source_port": "h_n", "target": "dec", "target_port": "h0"},
                  {"source": "enc", "source_port": "c_n", "target": "dec", "target_port": "c0"},
                  {"source": "dec", "target": "head"}, {"source": "head", "target": "Y"},
                  {"source": "enc", "source_port": "sequence", "target": "memory"}],
    }


class Seq2Seq(nn.Module):
    """What a PyTorch user writes: the encoder's (h_n, c_n) start the decoder."""

    def __init__(self, layers: int, bidir: bool):
        super().__init__()
        self.enc = nn.LSTM(D, H, layers, batch_first=True, bidirectional=bidir)
        self.dec = nn.LSTM(E, H, layers * (2 if bidir else 1), batch_first=True)
        self.head = nn.Linear(H, 3)

    def forward(self, src, tgt):
        memory, state = self.enc(src)
        out, _ = self.dec(tgt, state)
        return self.head(out), memory


@pytest.mark.parametrize("layers,bidir", list(itertools.product((1, 2), (False, True))))
def test_lstm_encoder_passes_both_states(layers, bidir):
    doc = GraphDoc.model_validate(_seq2seq(layers, bidir))
    rep = analyze(doc)
    assert rep.ok, [e.to_json() for e in rep.errors]
    dirs = 2 if bidir else 1
    shapes = rep.report()["nodes"]["enc"]["output_shapes"]
    assert shapes == {"sequence": [L, H * dirs], "h_n": [layers * dirs, H], "c_n": [layers * dirs, H]}
    torch.manual_seed(0)
    model = build(doc).eval()
    ref = Seq2Seq(layers, bidir).eval()
    ref.load_state_dict(model.state_dict(), strict=True)  # the same keys, the same order
    assert list(ref.state_dict()) == list(model.state_dict())
    s, t = torch.randn(B, L, D), torch.randn(B, T, E)
    with torch.no_grad():
        want = ref(s, t)
        torch.testing.assert_close(model(s, t), want)
        exported = load_exported(source_for(doc))().eval()
        exported.load_state_dict(model.state_dict(), strict=True)
        torch.testing.assert_close(exported(s, t), want)


def test_export_calls_the_encoder_once():
    src = source_for(GraphDoc.model_validate(_seq2seq(2)))
    assert src.count("self.enc(") == 1, src
    assert "enc_all = self.enc(src)" in src
    assert "enc_h_n = enc_all[1][0].transpose(0, 1)  # [B, 2, 8]" in src
    assert "enc_c_n = enc_all[1][1].transpose(0, 1)  # [B, 2, 8]" in src


def test_an_edge_without_a_source_port_keeps_returns():
    """Documents of before: no source_port means the output `returns` picks, and the export reads as before."""
    doc = _seq2seq(1)
    doc["nodes"][2]["params"]["returns"] = "h_n"
    doc["edges"] = [e for e in doc["edges"] if e.get("source_port") != "c_n" and e["target"] != "memory"]
    doc["edges"] = [{k: v for k, v in e.items() if k != "source_port"} for e in doc["edges"]]
    doc["nodes"] = [n for n in doc["nodes"] if n["id"] != "memory"]
    doc["edges"].append({"source": "enc", "target": "dec", "target_port": "c0"})  # h_n again, as c0
    rep = analyze(GraphDoc.model_validate(doc))
    assert rep.ok, [e.to_json() for e in rep.errors]
    src = source_for(GraphDoc.model_validate(doc))
    assert "enc = self.enc(src)[1][0].transpose(0, 1)  # [B, 1, 8]" in src and "enc_all" not in src


def test_a_gru_state_and_sequence_to_a_block_and_a_head():
    """GRU: sequence and h_n both used downstream; the state goes through a Linear first."""
    doc = GraphDoc.model_validate({
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [L, D]}},
                  {"id": "gru", "type": "GRU", "params": {"hidden_size": H}},
                  {"id": "flat", "type": "Flatten"}, {"id": "lin", "type": "Linear", "params": {"out_features": 2}},
                  {"id": "Y", "type": "Output"}, {"id": "S", "type": "Output"}],
        "edges": [{"source": "x", "target": "gru"}, {"source": "gru", "source_port": "h_n", "target": "flat"},
                  {"source": "flat", "target": "lin"}, {"source": "lin", "target": "Y"},
                  {"source": "gru", "target": "S"}],
    })
    torch.manual_seed(0)
    model = build(doc).eval()
    gru, lin = nn.GRU(D, H, batch_first=True), nn.Linear(H, 2)
    gru.load_state_dict({k[4:]: v for k, v in model.state_dict().items() if k.startswith("gru.")})
    lin.load_state_dict({k[4:]: v for k, v in model.state_dict().items() if k.startswith("lin.")})
    x = torch.randn(B, L, D)
    with torch.no_grad():
        seq, h = gru(x)
        torch.testing.assert_close(model(x), (lin(h.transpose(0, 1).flatten(1)), seq))


@pytest.mark.parametrize("edge,port,enc_type,node,fragment", [
    (3, "c_n", "GRU", "enc", "no such output; its outputs are sequence, h_n"),  # a GRU has no cell state
    (2, "cell", "LSTM", "enc", "takes its output 'cell', but LSTM 'enc' has no such output"),
    (5, "h_n", "LSTM", "head", "it has one output, so the edge names no source_port"),  # head -> Y
])
def test_a_bad_source_port_names_the_node(edge, port, enc_type, node, fragment):
    doc = _seq2seq(1)
    doc["edges"][edge]["source_port"] = port
    doc["nodes"][2]["type"] = enc_type
    errs = [e.to_json() for e in analyze(GraphDoc.model_validate(doc)).errors if e.severity == "error"]
    assert [(e["node"], e["field"]) for e in errs] == [(node, "source_port")], errs
    assert fragment in errs[0]["message"]


def test_a_named_output_of_an_absent_node_is_an_error():
    doc = GraphDoc.model_validate({
        "blocks": {"Enc": {
            "args": {"rnn": {"type": "boolean", "default": True}},
            "nodes": [{"id": "x", "type": "Input"}, {"id": "r", "type": "GRU", "params": {"hidden_size": D}, "when": "rnn"},
                      {"id": "f", "type": "Flatten"}, {"id": "y", "type": "Output"}],
            "edges": [{"source": "x", "target": "r"}, {"source": "r", "source_port": "h_n", "target": "f"},
                      {"source": "f", "target": "y"}]}},
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [L, D]}},
                  {"id": "e", "type": "Enc", "params": {"rnn": False}}, {"id": "Y", "type": "Output"}],
        "edges": [{"source": "x", "target": "e"}, {"source": "e", "target": "Y"}],
    })
    errs = [e.to_json() for e in analyze(doc).errors]
    assert any(e.get("path") == "e.f" and "absent here" in e["message"] for e in errs), errs


def test_the_catalog_lists_the_outputs(client):
    blocks = {b["type"]: b for b in client.get("/api/blocks").json()}
    assert blocks["LSTM"]["outputs"] == ["sequence", "h_n", "c_n"] and blocks["LSTM"]["output_param"] == "returns"
    assert blocks["GRU"]["outputs"] == ["sequence", "h_n"]
    assert blocks["Linear"].get("outputs") in (None, [])


def test_onnx_export_computes_what_torch_does():
    ort = pytest.importorskip("onnxruntime")
    from blocklab.importers.onnx_export import to_onnx

    doc = GraphDoc.model_validate(_seq2seq(2, bidir=True))
    torch.manual_seed(0)
    model = build(doc).eval()
    data = to_onnx(analyze(doc), doc.name, model.state_dict())
    s, t = torch.randn(B, L, D), torch.randn(B, T, E)
    got = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"src": s.numpy(), "tgt": t.numpy()})
    with torch.no_grad():
        want = model(s, t)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w.numpy(), atol=1e-5)


def test_onnx_round_trip_keeps_the_named_outputs():
    """export -> POST /api/import/onnx's reader -> build: one block per LSTM, the encoder's h_n and
    c_n named on the edges into the decoder, and the PyTorch outputs back."""
    pytest.importorskip("onnxruntime")
    from blocklab.importers.onnx_export import to_onnx
    from blocklab.importers.onnx_import import from_onnx

    doc = GraphDoc.model_validate(_seq2seq(2))
    torch.manual_seed(0)
    model = build(doc).eval()
    back = from_onnx(to_onnx(analyze(doc), doc.name, model.state_dict()))
    assert back.unsupported == []
    types = {n["id"]: n["type"] for n in back.graph["nodes"]}
    named = sorted((types[e["source"]], e["source_port"], e.get("target_port")) for e in back.graph["edges"] if "source_port" in e)
    assert named == [("LSTM", "c_n", "c0"), ("LSTM", "h_n", "h0")], back.graph["edges"]
    again = build(GraphDoc.model_validate(back.graph)).eval()
    again.load_state_dict(back.weights, strict=True)
    s, t = torch.randn(B, L, D), torch.randn(B, T, E)
    with torch.no_grad():
        torch.testing.assert_close(again(s, t), model(s, t), atol=1e-5, rtol=1e-4)
