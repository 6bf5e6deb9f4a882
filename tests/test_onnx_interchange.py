"""ONNX out and in: POST /api/export/onnx runs in onnxruntime with the PyTorch model's outputs,
and POST /api/import/onnx maps torch-exported files back to designs whose weights (an
upload usable as init_weights) reproduce the original module. Torch is the reference."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch
from torch import nn

from blocklab.graph.analyze import analyze
from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from blocklab.importers.onnx_export import to_onnx
from graphs import chain, template
from runs_fixtures import create, run_body, wait
from test_import_pytorch import Encoder, ResNetish

ort = pytest.importorskip("onnxruntime")


def _ort(data: bytes, *xs: torch.Tensor) -> list[np.ndarray]:
    s = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return s.run(None, {i.name: x.numpy() for i, x in zip(s.get_inputs(), xs)})


def _torch_onnx(module: nn.Module, x: torch.Tensor) -> bytes:
    """The file a user gets from torch.onnx.export (dynamic batch), as the tests' input."""
    with contextlib.redirect_stdout(io.StringIO()):
        p = torch.onnx.export(module.eval(), (x,), dynamo=True, opset_version=18, verbose=False, report=False,
                              dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1 << 20)},))
    return p.model_proto.SerializeToString()


def test_export_endpoint(client):
    r = client.post("/api/export/onnx", json={"graph": template("d2l_mlp")})
    assert r.status_code == 200 and r.headers["content-disposition"].endswith('.onnx"')
    assert _ort(r.content, torch.randn(4, 20))[0].shape == (4, 10)
    # A data-dependent while loop is exported as an ONNX Loop (tests/test_onnx_flow.py) ...
    r = client.post("/api/export/onnx", json={"graph": template("d2l_fixedhidden")})
    assert r.status_code == 200 and _ort(r.content, torch.randn(3, 20))[0].shape == (3, 1)
    # ... but a name made in one branch of an if has no graph form: 422 naming the node.
    odd = chain((4,), ("flow", "CustomLayer", {"expr": "if x.sum() > 0:\n    y2 = x\n    x = y2 * 2\nx"}))
    r = client.post("/api/export/onnx", json={"graph": odd})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["node"] == "flow"
    bad = template("d2l_mlp") | {"edges": []}
    assert client.post("/api/export/onnx", json={"graph": bad}).status_code == 422
    assert client.post("/api/export/onnx", json={"run_id": "nope"}).status_code == 404
    assert client.post("/api/export/onnx", json={}).status_code == 422


# NestMLP and a ResNet-18 go the same way in tests/test_onnx_import_models.py.
@pytest.mark.parametrize("make, shape", [(ResNetish, (3, 16, 16)), (Encoder, (6, 16))])
def test_import_of_torch_exported_files(client, make, shape):
    torch.manual_seed(0)
    module = make().eval()
    with torch.no_grad():  # non-trivial running stats, so batch norm (folded by the exporter) really counts
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1), m.running_var.uniform_(0.5, 2)
    x = torch.randn(2, *shape)
    r = client.post("/api/import/onnx", files={"file": ("model.onnx", _torch_onnx(module, x))})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["unsupported"] == [] and body["weights_id"]
    doc = GraphDoc.model_validate(body["graph"])
    assert analyze(doc).ok
    ys = [n["position"]["y"] for n in body["graph"]["nodes"]]
    assert ys[0] == min(ys) and ys[-1] == max(ys)  # laid out top to bottom
    # The uploaded weights are the file's initializers, keyed for the design.
    from blocklab.runs.weights import load

    imported = build(doc).eval()
    imported.load_state_dict(load(client.app.state.settings.data_dir, body["weights_id"]), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(imported(x), module(x), atol=1e-5, rtol=1e-4)


def test_imported_weights_train_and_export_again(client):
    """weights_id works as init_weights; the run's checkpoint exports back to ONNX unchanged."""
    torch.manual_seed(0)
    lr = nn.Sequential(nn.Linear(2, 1))
    r = client.post("/api/import/onnx", files={"file": ("lr.onnx", _torch_onnx(lr, torch.randn(2, 2)))})
    body = r.json()
    graph = body["graph"]
    rid = create(client, run_body("linear_regression", graph=graph, epochs=0, init_weights=body["weights_id"]))
    assert wait(client, rid)["status"] == "completed"
    r = client.post("/api/export/onnx", json={"run_id": rid})  # the run's own design and weights
    assert r.status_code == 200, r.text
    x = torch.randn(5, 2)
    with torch.no_grad():
        np.testing.assert_allclose(_ort(r.content, x)[0], lr(x).numpy(), atol=1e-5)


def test_unsupported_operators_are_listed_and_kept(client):
    class Last(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return torch.erf(self.fc(x))

    r = client.post("/api/import/onnx", files={"file": ("m.onnx", _torch_onnx(Last(), torch.randn(2, 4)))})
    body = r.json()
    assert [u["op"] for u in body["unsupported"]] == ["Erf"] and body["weights_id"] is None
    report = client.post("/api/graphs/validate", json=body["graph"]).json()
    assert not report["ok"] and any("onnx.Erf" in e["message"] for e in report["errors"])


@pytest.mark.parametrize("raw", [b"", b"not a model at all", b"\x08\x07" * 50, b"\x80\x04pickle"])
def test_malformed_files_get_422(client, raw):
    r = client.post("/api/import/onnx", files={"file": ("x.onnx", raw)})
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["errors"][0]["field"] == "file"


def test_upload_size_is_bounded(tmp_path):
    from fastapi.testclient import TestClient

    from blocklab.app import create_app
    from blocklab.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path, max_upload_bytes=1000))) as c:
        r = c.post("/api/import/onnx", files={"file": ("x.onnx", b"\0" * 2000)})
    assert r.status_code == 413


@pytest.mark.parametrize("tid", ["lenet_digits", "resnet_digits"])
def test_templates_round_trip_through_onnx(client, tid):
    """Template -> .onnx -> POST /api/import/onnx: the imported design with its weights_id
    computes what the template's model computes (batch norm folded into the convolutions)."""
    from blocklab.runs.weights import load

    doc = GraphDoc.model_validate(template(tid))
    analysis = analyze(doc)
    torch.manual_seed(2)
    model = build(doc).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1), m.running_var.uniform_(0.5, 2)
    r = client.post("/api/import/onnx", files={"file": ("t.onnx", to_onnx(analysis, doc.name, model.state_dict()))})
    body = r.json()
    assert body["unsupported"] == [] and body["weights_id"], body
    again = build(GraphDoc.model_validate(body["graph"])).eval()
    again.load_state_dict(load(client.app.state.settings.data_dir, body["weights_id"]), strict=True)
    x = torch.randn(3, *analysis.root.nodes[analysis.root.inputs[0]].shape)
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x), atol=1e-5, rtol=1e-4)


def test_without_the_extra_the_endpoints_name_it(client, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name.startswith("onnx") else real(name, *a))
    for r in (client.post("/api/import/onnx", files={"file": ("x.onnx", b"")}),
              client.post("/api/export/onnx", json={"graph": template("d2l_mlp")})):
        assert r.status_code == 501 and "blocklab[interchange]" in r.json()["detail"]
