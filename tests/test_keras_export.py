"""POST /api/export/keras: the Keras 3 source runs under Keras (torch backend here; the source
is backend-neutral), takes a Blocklab state_dict through load_blocklab_state_dict, and gives
the PyTorch model's outputs. Torch is the reference."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: no TensorFlow needed

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from blocklab.graph.analyze import analyze  # noqa: E402
from blocklab.graph.build import build  # noqa: E402
from blocklab.graph.document import GraphDoc  # noqa: E402
from blocklab.api.templates import load_templates  # noqa: E402
from graphs import chain, template  # noqa: E402

TEMPLATE_IDS = [t["id"] for t in load_templates()]

keras = pytest.importorskip("keras")


def _compare(client, graph: dict, int_inputs: bool = False) -> str:
    r = client.post("/api/export/keras", json={"graph": graph})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/x-python")
    ns: dict = {}
    exec(compile(r.text, "exported_keras.py", "exec"), ns)  # as `python exported_keras.py` would
    doc = GraphDoc.model_validate(graph)
    analysis = analyze(doc)
    torch.manual_seed(0)
    model = build(doc).eval()
    with torch.no_grad():  # running stats that are not 0 and 1, so batch norm's inference path counts
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-1, 1), m.running_var.uniform_(0.5, 2)
    km = ns["Model"]()
    ns["load_blocklab_state_dict"](km, model.state_dict())
    shapes = [analysis.root.nodes[i].shape for i in analysis.root.inputs]
    xs = [torch.randint(0, 10, (3, *s)).float() if int_inputs else torch.randn(3, *s) for s in shapes]
    with torch.no_grad():
        want = model(*xs)
    got = km(*[x.numpy() for x in xs])
    wants, gots = (want, got) if isinstance(want, tuple) else ((want,), (got,))
    assert len(gots) == len(wants)
    for g, w in zip(gots, wants):
        g, w = keras.ops.convert_to_numpy(g), w.numpy()
        assert g.shape == w.shape and np.abs(g - w).max() <= 1e-4
    return r.text


@pytest.mark.parametrize("tid", TEMPLATE_IDS)
def test_templates_run_under_keras_or_name_what_cannot(client, tid):
    """Every template: the same outputs under Keras, or a 422 naming each node without a Keras
    counterpart (never a silently different model: repeats, `when` and `calls` included)."""
    r = client.post("/api/export/keras", json={"graph": template(tid)})
    if r.status_code == 422:
        errors = r.json()["detail"]["errors"]
        assert errors and all(e["node"] and "Keras" in e["message"] for e in errors), errors
        assert tid not in KERAS_TEMPLATES, r.text
        return
    src = _compare(client, template(tid))
    assert "class Model(keras.Model):" in src


KERAS_TEMPLATES = {"lenet_digits", "resnet_digits", "d2l_tied", "d2l_nestmlp", "vgg_digits"}


def test_recurrent_norms_and_embeddings(client):
    _compare(client, chain((6, 5), ("lstm", "LSTM", {"hidden_size": 7}), ("gru", "GRU", {"hidden_size": 4}),
                           ("ln", "LayerNorm"), ("act", "GELU", {"approximate": "tanh"}), ("mean", "Mean", {"dims": [1]}),
                           ("bn", "BatchNorm1d"), ("sm", "LogSoftmax")))
    _compare(client, chain((5,), ("emb", "Embedding", {"num_embeddings": 10, "embedding_dim": 4}),
                           ("flat", "Flatten"), ("sp", "Softplus", {"beta": 2.0}), ("fc", "Linear", {"out_features": 3})),
             int_inputs=True)


def test_blocks_without_a_keras_counterpart_are_named(client):
    r = client.post("/api/export/keras", json={"graph": template("d2l_mylinear")})
    assert r.status_code == 422
    assert [e["node"] for e in r.json()["detail"]["errors"]] == ["0", "1"]
    pool = chain((3, 8, 8), ("pool", "MaxPool2d", {"kernel_size": 3, "padding": 1}))
    r = client.post("/api/export/keras", json={"graph": pool})
    assert r.status_code == 422 and "pads" in r.json()["detail"]["errors"][0]["message"]


def test_calls_and_when_under_keras(client):
    """A Linear called again (one layer, its weights once) and a block whose optional
    projection is left out by `when` in one instance and kept in the other."""
    e = lambda a, b, port=None: {"source": a, "target": b, **({"target_port": port} if port else {})}  # noqa: E731
    res = {"args": {"proj": {"type": "boolean", "default": False}},
           "nodes": [{"id": "x", "type": "Input"}, {"id": "fc", "type": "Linear", "params": {"out_features": 6}},
                     {"id": "skip", "type": "Linear", "params": {"out_features": 6}, "when": "proj"},
                     {"id": "add", "type": "Add"}, {"id": "y", "type": "Output"}],
           "edges": [e("x", "fc"), e("x", "skip"), e("fc", "add", "a"), e("skip", "add", "b"), e("add", "y")]}
    graph = {"version": 1, "name": "t", "blocks": {"Res": res}, "nodes": [
        {"id": "X", "type": "Input", "params": {"shape": [6]}},
        {"id": "lin", "type": "Linear", "params": {"out_features": 6}}, {"id": "act", "type": "Tanh"},
        {"id": "again", "type": "Linear", "calls": "lin"},
        {"id": "r1", "type": "Res", "params": {"proj": False}}, {"id": "r2", "type": "Res", "params": {"proj": True}},
        {"id": "Y", "type": "Output"}],
        "edges": [e("X", "lin"), e("lin", "act"), e("act", "again"), e("again", "r1"), e("r1", "r2"), e("r2", "Y")]}
    src = _compare(client, graph)
    assert "self.again" not in src and "self.skip" in src


def test_named_outputs_under_keras(client):
    """An LSTM encoder's h_n and c_n start the decoder, its sequence is a second output: one Keras
    layer call, every output picked from it."""
    from test_blocks_outputs import _seq2seq

    src = _compare(client, _seq2seq(1))
    assert src.count("self.enc(") == 1 and "enc_c_n = ops.expand_dims(enc_all[2], 1)  # [B, 1, 8]" in src, src
