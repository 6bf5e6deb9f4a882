"""The Keras export of recurrent blocks with initial states and final-state outputs: torch is
the reference (the same weights give the same outputs), never a silently dropped state."""

from __future__ import annotations

import pytest

from test_keras_export import _compare  # sets KERAS_BACKEND=torch before keras is imported

L, D, H = 5, 4, 6


def _seq2seq(kind: str, returns: str) -> dict:
    states = ("h0", "c0") if kind == "LSTM" else ("h0",)
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [L, D]}},
             *({"id": s, "type": "Input", "params": {"shape": [1, H]}} for s in states),
             {"id": "rnn", "type": kind, "params": {"hidden_size": H, "returns": returns}},
             {"id": "Y", "type": "Output"}]
    edges = [{"source": "x", "target": "rnn", "target_port": "x"},
             *({"source": s, "target": "rnn", "target_port": s} for s in states), {"source": "rnn", "target": "Y"}]
    return {"nodes": nodes, "edges": edges}


@pytest.mark.parametrize("kind,returns", [("GRU", "sequence"), ("GRU", "h_n"), ("LSTM", "sequence"),
                                          ("LSTM", "h_n"), ("LSTM", "c_n")])
def test_recurrent_states_export_to_keras(client, kind, returns):
    src = _compare(client, _seq2seq(kind, returns))
    assert "initial_state=[h0[:, 0]" in src


def test_a_plain_rnn_has_no_keras_counterpart(client):
    g = _seq2seq("GRU", "h_n")
    g["nodes"][2]["type"] = "RNN"
    r = client.post("/api/export/keras", json={"graph": g})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["node"] == "rnn"
