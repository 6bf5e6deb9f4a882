"""RNN, LSTM and GRU with initial states and final states, against torch's modules.

The blocks take and give states per sample, batch first ([num_layers * directions, hidden]);
torch's are [num_layers * directions, B, hidden]. With the same weights, every output the
block can give equals the module's, for every combination of layers and directions.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from blocklab.graph.analyze import analyze
from blocklab.graph.build import build, source_for
from blocklab.graph.document import GraphDoc
from test_registry import check_block, single_block_doc

B, L, D, H = 3, 5, 4, 6
KINDS = {"RNN": (nn.RNN, ("h0",)), "LSTM": (nn.LSTM, ("h0", "c0")), "GRU": (nn.GRU, ("h0",))}


def _torch_out(mod: nn.Module, x, states: list, returns: str):
    hx = [s.transpose(0, 1).contiguous() for s in states]  # [B, layers*dirs, H] -> [layers*dirs, B, H]
    out, final = mod(x, (hx[0], hx[1]) if len(hx) == 2 else hx[0]) if hx else mod(x)
    if returns == "sequence":
        return out
    h_n, c_n = final if isinstance(final, tuple) else (final, None)
    return (h_n if returns == "h_n" else c_n).transpose(0, 1)


CASES = [
    (kind, layers, bidir, with_state, returns)
    for kind, (_, states) in KINDS.items()
    for layers, bidir, with_state in itertools.product((1, 2), (False, True), (False, True))
    for returns in ("sequence", "h_n", *(("c_n",) if len(states) == 2 else ()))
]


@pytest.mark.parametrize("kind,layers,bidir,with_state,returns", CASES)
def test_outputs_and_states_match_torch(kind, layers, bidir, with_state, returns):
    cls, state_ports = KINDS[kind]
    dirs = 2 if bidir else 1
    params = {"hidden_size": H, "num_layers": layers, "bidirectional": bidir, "returns": returns}
    inputs = {"x": (L, D), **({s: (layers * dirs, H) for s in state_ports} if with_state else {})}
    doc = single_block_doc(kind, params, inputs)
    rep = analyze(doc)
    assert rep.ok, [e.to_json() for e in rep.errors]
    want_shape = (L, H * dirs) if returns == "sequence" else (layers * dirs, H)
    assert rep.root.nodes["blk"].shape == want_shape
    check_block(kind, params, inputs)  # parameter names, the export round trip

    torch.manual_seed(1)
    model = build(doc).eval()
    ref = cls(D, H, num_layers=layers, bidirectional=bidir, batch_first=True).eval()
    ref.load_state_dict({k.removeprefix("blk."): v for k, v in model.state_dict().items()}, strict=True)
    xs = [torch.randn(B, *s) for s in inputs.values()]
    with torch.no_grad():
        torch.testing.assert_close(model(*xs), _torch_out(ref, xs[0], xs[1:], returns))


def test_relu_rnn_matches_torch():
    doc = single_block_doc("RNN", {"hidden_size": H, "nonlinearity": "relu"}, {"x": (L, D)})
    model = build(doc).eval()
    ref = nn.RNN(D, H, nonlinearity="relu", batch_first=True)
    ref.load_state_dict({k.removeprefix("blk."): v for k, v in model.state_dict().items()}, strict=True)
    x = torch.randn(B, L, D)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x)[0])


@pytest.mark.parametrize("kind,params,inputs,field,fragment", [
    ("GRU", {"hidden_size": H}, {"x": (L, D), "h0": (2, H)}, "h0", "[1, 6] but receives [2, 6]"),
    ("LSTM", {"hidden_size": H, "bidirectional": True}, {"x": (L, D), "h0": (2, H)}, "c0", "connect 'c0' too"),
    ("LSTM", {"hidden_size": H}, {"x": (L, D), "c0": (1, H)}, "h0", "connect 'h0' too"),
    ("GRU", {"returns": "c_n"}, {"x": (L, D)}, "returns", "sequence"),
])
def test_bad_states_name_the_port(kind, params, inputs, field, fragment):
    rep = analyze(single_block_doc(kind, params, inputs))
    errs = [e.to_json() for e in rep.errors]
    assert [(e["node"], e["field"]) for e in errs] == [("blk", field)], errs
    assert fragment in errs[0]["message"]


def test_gru_encoder_state_feeds_decoder():
    """seq2seq: the encoder's final state is the decoder's initial state, as D2L's Seq2SeqDecoder."""
    doc = GraphDoc.model_validate({
        "nodes": [{"id": "src", "type": "Input", "params": {"shape": [L, D]}},
                  {"id": "tgt", "type": "Input", "params": {"shape": [L + 2, D]}},
                  {"id": "enc", "type": "GRU", "params": {"hidden_size": H, "num_layers": 2, "returns": "h_n"}},
                  {"id": "dec", "type": "GRU", "params": {"hidden_size": H, "num_layers": 2}},
                  {"id": "Y", "type": "Output"}],
        "edges": [{"source": "src", "target": "enc"}, {"source": "tgt", "target": "dec", "target_port": "x"},
                  {"source": "enc", "target": "dec", "target_port": "h0"}, {"source": "dec", "target": "Y"}],
    })
    model = build(doc).eval()
    enc, dec = nn.GRU(D, H, 2, batch_first=True), nn.GRU(D, H, 2, batch_first=True)
    enc.load_state_dict({k[4:]: v for k, v in model.state_dict().items() if k.startswith("enc.")})
    dec.load_state_dict({k[4:]: v for k, v in model.state_dict().items() if k.startswith("dec.")})
    s, t = torch.randn(B, L, D), torch.randn(B, L + 2, D)
    with torch.no_grad():
        torch.testing.assert_close(model(s, t), dec(t, enc(s)[1])[0])
    src = source_for(doc)
    assert "enc = self.enc(src)[1].transpose(0, 1)  # [B, 2, 6]" in src
    assert "dec = self.dec(tgt, enc.transpose(0, 1).contiguous())[0]  # [B, 7, 6]" in src
