"""A user's own batch-first nn.LSTM / nn.GRU / nn.RNN through torch.onnx.export -> the ONNX importer:
one recurrent block (2 layers, bidirectional, with and without an initial state, giving the
sequence or a final state), whose imported weights load strictly into the built Blocklab
model and give what the torch module gives. Torch (the original module) is the reference."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch
from torch import nn

from blocklab.graph.analyze import analyze
from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from blocklab.importers.onnx_import import from_onnx

pytest.importorskip("onnxscript")

L, F, H = 6, 3, 5  # sequence length, features, hidden size


class Recurrent(nn.Module):
    """torch's layer as a design uses it: per-sample states [B, layers * dirs, H] in and out
    (torch's own are [layers * dirs, B, H], hence the transposes)."""

    def __init__(self, kind: str, returns: str, layers: int = 2, bidirectional: bool = True, **kw):
        super().__init__()
        self.rnn = getattr(nn, kind)(F, H, num_layers=layers, bidirectional=bidirectional, batch_first=True, **kw)
        self.returns = returns

    def forward(self, x, h0=None, c0=None):
        hx = [s.transpose(0, 1).contiguous() for s in (h0, c0) if s is not None]
        out, h = self.rnn(x, (tuple(hx) if len(hx) == 2 else hx[0]) if hx else None)
        if self.returns == "sequence":
            return out  # [B, L, dirs * H]
        h = h[("h_n", "c_n").index(self.returns)] if isinstance(h, tuple) else h
        return h.transpose(0, 1)  # [B, layers * dirs, H]


def _export(module: nn.Module, xs: tuple) -> bytes:
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    with contextlib.redirect_stdout(io.StringIO()):
        p = torch.onnx.export(module.eval(), xs, dynamo=True, opset_version=18, verbose=False, report=False,
                              dynamic_shapes={k: {0: batch} for k in ["x", "h0", "c0"][:len(xs)]})
    return p.model_proto.SerializeToString()


def _inputs(kind: str, states: bool, layers: int = 2, dirs: int = 2) -> tuple:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, L, F, generator=g)
    n = (2 if kind == "LSTM" else 1) if states else 0
    return (x, *[torch.randn(4, layers * dirs, H, generator=g) for _ in range(n)])


# nn.RNN has no ONNX op in torch's exporter: it is unrolled step by step (importers.onnx_unrolled).
CASES = [("LSTM", "sequence", True, {}), ("LSTM", "h_n", False, {}), ("LSTM", "c_n", True, {}),
         ("GRU", "sequence", False, {}), ("GRU", "h_n", True, {}),
         ("RNN", "sequence", True, {}), ("RNN", "h_n", False, {"nonlinearity": "relu"})]


@pytest.mark.parametrize("kind,returns,states,kw", CASES)
def test_the_recurrent_layer_comes_back_with_torch_outputs(kind, returns, states, kw):
    torch.manual_seed(1)
    module, xs = Recurrent(kind, returns, **kw), _inputs(kind, states)
    imported = from_onnx(_export(module, xs))
    assert imported.unsupported == []
    blocks = [n for n in imported.graph["nodes"] if n["type"] not in ("Input", "Output")]
    assert [n["type"] for n in blocks] == [kind]
    assert blocks[0]["params"] == {"hidden_size": H, "num_layers": 2, "bidirectional": True, **kw,
                                   **({} if returns == "sequence" else {"returns": returns})}
    doc = GraphDoc.model_validate(imported.graph)
    model = build(doc).eval()
    model.load_state_dict(imported.weights, strict=True)  # torch's own keys: weight_ih_l0, ..._l1_reverse
    root = analyze(doc).root
    by_name = dict(zip(["x", "h0", "c0"], xs))
    with torch.no_grad():
        got = model(*[by_name[root.nodes[i].id] for i in root.inputs])
        want = module(*xs)
    torch.testing.assert_close(got[0] if isinstance(got, (tuple, list)) else got, want, atol=1e-5, rtol=1e-4)
    # The weights are torch's, gate for gate (ONNX orders the gates otherwise).
    for k, v in module.rnn.state_dict().items():
        torch.testing.assert_close(imported.weights[f"{blocks[0]['id']}.{k}"], v)


@pytest.mark.parametrize("kind", ["GRU", "RNN"])
def test_a_one_layer_layer_without_bias(kind):
    torch.manual_seed(2)
    module = Recurrent(kind, "h_n", layers=1, bidirectional=False, bias=False)
    xs = _inputs(kind, False, 1, 1)
    imported = from_onnx(_export(module, xs))
    assert imported.unsupported == []
    model = build(GraphDoc.model_validate(imported.graph)).eval()
    model.load_state_dict(imported.weights, strict=True)
    with torch.no_grad():
        got = model(xs[0])
        torch.testing.assert_close(got[0] if isinstance(got, (tuple, list)) else got, module(*xs), atol=1e-5, rtol=1e-4)


class BothStates(nn.Module):
    """An encoder's whole state: h_n and c_n both leave the LSTM, with its output sequence."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(F, H, 2, batch_first=True)

    def forward(self, x):
        out, (h, c) = self.rnn(x)
        return h.transpose(0, 1), c.transpose(0, 1), out  # both final states, per sample, and the sequence


def test_an_lstm_whose_outputs_are_all_used_is_one_block_with_named_outputs():
    """One LSTM block; the edges name the outputs they take (source_port), torch's outputs back."""
    torch.manual_seed(3)
    module = BothStates().eval()
    xs = _inputs("LSTM", False)[:1]
    imported = from_onnx(_export(module, xs))
    assert imported.unsupported == []
    lstms = [n for n in imported.graph["nodes"] if n["type"] == "LSTM"]
    assert len(lstms) == 1
    taken = sorted(e.get("source_port") or "" for e in imported.graph["edges"] if e["source"] == lstms[0]["id"])
    assert taken == ["", "c_n", "h_n"]  # the sequence by `returns`, the final states named
    model = build(GraphDoc.model_validate(imported.graph)).eval()
    model.load_state_dict(imported.weights, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(model(xs[0]), module(*xs), atol=1e-5, rtol=1e-4)



def _hostile(w_shape: tuple, hidden: int, repeat: int = 1) -> bytes:
    """x [B, 5, 3] -> Transpose -> LSTM(W, R) -> torch's layout back: W a Concat of `repeat` copies."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper as h, numpy_helper as nh

    nodes = [h.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
             h.make_node("Concat", ["w"] * repeat, ["W"], axis=1),
             h.make_node("LSTM", ["xt", "W", "R"], ["Y"], hidden_size=hidden),
             h.make_node("Transpose", ["Y"], ["t"], perm=[0, 2, 1, 3]),
             h.make_node("Reshape", ["t", "shape"], ["r"]), h.make_node("Transpose", ["r"], ["y"], perm=[1, 0, 2])]
    inits = [nh.from_array(np.ones(w_shape, np.float32), "w"), nh.from_array(np.ones((1, 4 * hidden, hidden), np.float32), "R"),
             nh.from_array(np.array([0, 0, -1], np.int64), "shape")]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 5, 3])],
                     [h.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 5, "h"])], inits)
    return h.make_model(g, opset_imports=[h.make_opsetid("", 18)]).SerializeToString()


@pytest.mark.parametrize("w_shape,hidden,repeat,reason", [
    ((1, 0, 3), 0, 1, "hidden_size"),  # a size the block refuses: named, not a 500
    ((1, 8, 3), 2, 1, None),  # the pattern itself: one LSTM block
    ((1, 4000, 3), 2, 2000, "too large to fold"),  # 2000 copies of W: not folded into 24M numbers
])
def test_a_hand_made_recurrent_file_is_read_or_named(client, w_shape, hidden, repeat, reason):
    r = client.post("/api/import/onnx", files={"file": ("h.onnx", _hostile(w_shape, hidden, repeat))})
    assert r.status_code == 200, r.text
    lstm = [u for u in r.json()["unsupported"] if u["op"] == "LSTM"]
    if reason is None:
        assert r.json()["unsupported"] == [] and [n["type"] for n in r.json()["graph"]["nodes"]] == ["Input", "LSTM", "Output"]
    else:
        assert len(lstm) == 1 and reason in lstm[0]["reason"], r.json()["unsupported"]
