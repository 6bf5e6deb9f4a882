"""The four hand-written models of tests/import_models.py through the user's own
torch.onnx.export -> POST /api/import/onnx -> POST /api/export/python: the exported Model,
with the import's uploaded weights (weights_id) loaded strictly, computes what the original
module computes. torch's Transformer encoder is the exception, and it is named, not
dropped: torch.onnx.export writes its attention sequence-first (the batch moved off dim
0), which no per-sample block computes. Torch (the original module) is the reference."""

from __future__ import annotations

import pytest
import torch

from blocklab.runs.weights import load
from graphs import load_exported
from test_import_models import CASES, original
from test_onnx_interchange import _torch_onnx

pytest.importorskip("onnxruntime")


def _import(client, name: str) -> dict:
    module = original(name)
    r = client.post("/api/import/onnx", files={"file": (f"{name}.onnx", _torch_onnx(module, CASES[name][3]()))})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("name", ["LeNet", "ResNet18", "NestMLP"])
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


def test_torchs_attention_is_named_never_dropped(client):
    body = _import(client, "TinyTransformer")
    assert body["weights_id"] is None and body["unsupported"]
    # Each operator left over is named with the torch layer it belongs to and that layer's block.
    for u in body["unsupported"]:
        assert "(in encoder.layers." in u["reason"] and "TransformerEncoderLayer block" in u["reason"], u
    types = {n["id"]: n["type"] for n in body["graph"]["nodes"]}
    assert types["embed"] == "Embedding" and types["head"] == "Linear"
    # The learned position (x + a [12, 16] initializer) maps to a CustomLayer holding it as `pos`.
    pos = next(n for n in body["graph"]["nodes"] if n["type"] == "CustomLayer" and "pos" in n["params"].get("parameters", {}))
    assert pos["params"]["parameters"]["pos"]["shape"] == [12, 16]
    # The design shows the operators as onnx.<Op> nodes, so it cannot be trained as something else.
    report = client.post("/api/graphs/validate", json=body["graph"]).json()
    assert not report["ok"]


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
