"""torch.fx import of recurrent layers' final states: `out, state = self.enc(x)` becomes edges
naming the block's outputs (source_port h_n / c_n), so a PyTorch seq2seq imports as it is
written. torch is the reference: the module's own state_dict loads strict into the export
of the imported document, and the outputs match."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from blocklab.graph.build import source_for
from blocklab.graph.document import GraphDoc
from blocklab.importers import from_module, weights_for
from blocklab.importers.pytorch import NotImportable
from graphs import load_exported

B, L, T, D, E, H = 3, 5, 4, 7, 6, 8


class LSTMSeq2Seq(nn.Module):
    """The encoder's whole state (h_n, c_n) starts the decoder; its outputs also feed a head."""

    def __init__(self, layers: int = 2):
        super().__init__()
        self.enc = nn.LSTM(D, H, layers, batch_first=True)
        self.dec = nn.LSTM(E, H, layers, batch_first=True)
        self.head = nn.Linear(H, 3)
        self.gate = nn.Linear(H, 1)

    def forward(self, src, tgt):
        memory, state = self.enc(src)
        out, _ = self.dec(tgt, state)
        h_last = state[0].transpose(0, 1)[:, -1]  # [B, H]: the top layer's final hidden state
        return self.head(out), self.gate(h_last), memory


class GRUSummary(nn.Module):
    """A GRU's final state, made batch first, flattened into a classifier; its sequence unused."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(D, H, 2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(4 * H, 2)

    def forward(self, x):
        _, h = self.gru(x)
        return self.fc(h.transpose(0, 1).flatten(1))


def _check(module: nn.Module, xs: tuple) -> dict:
    module.eval()
    doc = from_module(module, xs if len(xs) > 1 else xs[0])
    rebuilt = load_exported(source_for(GraphDoc.model_validate(doc)))().eval()
    rebuilt.load_state_dict(weights_for(doc, module.state_dict()), strict=True)
    assert list(rebuilt.state_dict()) == list(module.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(*xs), module(*xs), atol=1e-5, rtol=1e-5)
    return doc


def test_an_lstm_seq2seq_imports_with_both_states():
    torch.manual_seed(0)
    doc = _check(LSTMSeq2Seq(), (torch.randn(B, L, D), torch.randn(B, T, E)))
    taps = {(e["source"], e.get("source_port"), e["target"], e.get("target_port")) for e in doc["edges"]}
    assert ("enc", "h_n", "dec", "h0") in taps and ("enc", "c_n", "dec", "c0") in taps
    assert any(s == "enc" and p is None for s, p, _, _ in taps)  # the sequence: the default output


def test_a_state_only_use_becomes_returns():
    """Every edge of the GRU takes h_n: the document says `returns: "h_n"`, as one written by hand."""
    torch.manual_seed(0)
    doc = _check(GRUSummary(), (torch.randn(B, L, D),))
    gru = next(n for n in doc["nodes"] if n["id"] == "gru")
    assert gru["params"]["returns"] == "h_n"
    assert all("source_port" not in e for e in doc["edges"])


class TorchLayout(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(D, H, batch_first=True)
        self.fc = nn.Linear(H, 2)

    def forward(self, x):
        _, h = self.gru(x)
        return self.fc(h[-1])  # [layers, B, H][-1]: indexes torch's layer dim, a block's batch dim


def test_a_state_used_in_torch_layout_is_named_not_guessed():
    with pytest.raises(NotImportable) as e:
        from_module(TorchLayout().eval(), torch.randn(B, L, D))
    assert [(u["node"], "torch's layout" in u["reason"]) for u in e.value.unsupported] == [("getitem_2", True)], \
        e.value.unsupported
