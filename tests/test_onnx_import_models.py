"""The four hand-written models of tests/import_models.py through the user's own
torch.onnx.export -> POST /api/import/onnx -> POST /api/export/python: the exported Model,
with the import's uploaded weights (weights_id) loaded strictly, computes what the original
module computes. torch's Transformer layers, which the exporter writes as dozens of
sequence-first operators, come back as their blocks (importers.onnx_modules); attention the
importer does not recognise is named, never dropped. Torch (the original module) is the
reference."""

from __future__ import annotations

import functools

import pytest
import torch

from blocklab.runs.weights import load
from graphs import load_exported
from test_import_models import CASES, original
from test_onnx_interchange import _torch_onnx

pytest.importorskip("onnxruntime")


@functools.lru_cache(maxsize=None)
def _file(name: str) -> bytes:
    """The user's own torch.onnx.export of the model (made once per model: it takes a second)."""
    return _torch_onnx(original(name), CASES[name][3]())


def _import(client, name: str) -> dict:
    r = client.post("/api/import/onnx", files={"file": (f"{name}.onnx", _file(name))})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("name", list(CASES))
def test_onnx_import_then_export_computes_the_original(client, name):
    body = _import(client, name)
    assert body["unsupported"] == [] and body["weights_id"], body["unsupported"]
    r = client.post("/api/export/python", json=body["graph"])
    assert r.status_code == 200, r.text
    model = load_exported(r.text)().eval()
    model.load_state_dict(load(client.app.state.settings.data_dir, body["weights_id"]), strict=True)
    module, x = original(name), CASES[name][3]()
    with torch.no_grad():
        torch.testing.assert_close(model(x), module(x), atol=1e-4, rtol=1e-4)


def test_the_transformer_encoder_comes_back_as_its_layers(client):
    body = _import(client, "TinyTransformer")
    types = {n["id"]: n["type"] for n in body["graph"]["nodes"]}
    assert types["embed"] == "Embedding" and types["head"] == "Linear"
    layers = [n for n in body["graph"]["nodes"] if n["type"] == "TransformerEncoderLayer"]
    assert [n["id"] for n in layers] == ["encoder_layers_0", "encoder_layers_1"]
    assert layers[0]["params"]["nhead"] == 4 and layers[0]["params"]["dim_feedforward"] == 32
    # The learned position (x + a [12, 16] initializer) maps to a CustomLayer holding it as `pos`.
    pos = next(n for n in body["graph"]["nodes"] if n["type"] == "CustomLayer")
    assert pos["params"]["parameters"]["pos"]["shape"] == [12, 16]


class PreNormGelu(torch.nn.Module):
    """The other settings the importer reads from the operators: norm_first, gelu, eps, no bias."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.TransformerEncoderLayer(8, 2, 24, batch_first=True, norm_first=True, activation="gelu",
                                                      layer_norm_eps=1e-6, bias=False)

    def forward(self, x):
        return self.layer(x)


class CrossAttention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.mem = torch.nn.Linear(8, 8)
        self.attn = torch.nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        m = self.mem(x)
        return self.attn(x, m, m, need_weights=False)[0]


def test_pre_norm_gelu_layer_comes_back_with_its_settings(client):
    torch.manual_seed(0)
    module, x = PreNormGelu().eval(), torch.randn(2, 5, 8)
    body = client.post("/api/import/onnx", files={"file": ("p.onnx", _torch_onnx(module, x))}).json()
    assert body["unsupported"] == [] and body["weights_id"], body["unsupported"]
    layer = next(n for n in body["graph"]["nodes"] if n["type"] == "TransformerEncoderLayer")
    assert {k: layer["params"][k] for k in ("norm_first", "activation", "bias", "layer_norm_eps")} == {
        "norm_first": True, "activation": "gelu", "bias": False, "layer_norm_eps": 1e-6}
    model = load_exported(client.post("/api/export/python", json=body["graph"]).text)().eval()
    model.load_state_dict(load(client.app.state.settings.data_dir, body["weights_id"]), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(model(x), module(x), atol=1e-4, rtol=1e-4)


class MaskedAttention(torch.nn.Module):
    """Self-attention with a fixed mask: the mask's operators are not what the block computes."""

    def __init__(self):
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(8, 2, batch_first=True)
        self.register_buffer("mask", torch.rand(5, 5) > 0.5)

    def forward(self, x):
        return self.attn(x, x, x, attn_mask=self.mask, need_weights=False)[0]


def test_cross_attention_comes_back_as_one_block(client):
    """query x, key and value m = Linear(x): the MultiheadAttention block with m on both ports."""
    torch.manual_seed(0)
    module, x = CrossAttention().eval(), torch.randn(2, 5, 8)
    body = client.post("/api/import/onnx", files={"file": ("c.onnx", _torch_onnx(module, x))}).json()
    assert body["unsupported"] == [] and body["weights_id"], body["unsupported"]
    ports = {e.get("target_port"): e["source"] for e in body["graph"]["edges"] if e["target"] == "attn"}
    assert ports["key"] == ports["value"] == "mem" and ports["query"] != "mem"
    model = load_exported(client.post("/api/export/python", json=body["graph"]).text)().eval()
    model.load_state_dict(load(client.app.state.settings.data_dir, body["weights_id"]), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(model(x), module(x), atol=1e-4, rtol=1e-4)


def test_attention_it_does_not_recognise_is_named_never_dropped(client):
    torch.manual_seed(0)
    body = client.post("/api/import/onnx", files={"file": ("c.onnx", _torch_onnx(MaskedAttention().eval(),
                                                                               torch.randn(2, 5, 8)))}).json()
    assert body["weights_id"] is None and body["unsupported"]
    # Each operator left over is named with the torch layer it belongs to and that layer's block.
    assert all("(in attn, a torch.nn.MultiheadAttention" in u["reason"] for u in body["unsupported"]), body["unsupported"]
    report = client.post("/api/graphs/validate", json=body["graph"]).json()
    assert not report["ok"]  # the onnx.<Op> nodes: it cannot be trained as something else


def test_a_tensor_added_to_every_sample_keeps_its_values(client):
    """x + pos, pos [L, d] an initializer (a learned position): a CustomLayer whose parameter
    `pos` holds the file's values, so the import computes what the module computes."""
    from import_models import LearnedPosition

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(8, 16), LearnedPosition(12, 16)).eval()
    x = torch.randn(2, 12, 8)
    body = client.post("/api/import/onnx", files={"file": ("pos.onnx", _torch_onnx(module, x))}).json()
    assert body["unsupported"] == [] and body["weights_id"]
    model = load_exported(client.post("/api/export/python", json=body["graph"]).text)().eval()
    model.load_state_dict(load(client.app.state.settings.data_dir, body["weights_id"]), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(model(x), module(x), atol=1e-5, rtol=1e-5)
