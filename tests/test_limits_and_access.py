"""Request limits, token access, CORS, and the CLI's validate/export commands."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

from blocklab.app import create_app
from blocklab.cli import main as cli
from blocklab.settings import Settings
from graphs import chain, template


def test_huge_body_refused_413_fast(client):
    t = time.perf_counter()
    r = client.post("/api/graphs/validate", content=b" " * (50 * 1024 * 1024), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert time.perf_counter() - t < 5


def test_deeply_nested_json_refused_422(client):
    body = '{"nodes": ' + "[" * 10_000 + "]" * 10_000 + "}"
    r = client.post("/api/graphs/validate", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]


def test_chunked_body_over_limit_refused(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, max_body_bytes=1000))
    with TestClient(app) as c:
        r = c.post("/api/graphs/validate", content=iter([b"[" * 600, b"]" * 600]), headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_token_guards_api_but_not_page(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, token="s3cret"))) as c:
        assert c.get("/api/blocks").status_code == 401
        assert c.get("/api/blocks", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/blocks", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/").status_code == 200  # the page loads and then asks for the token


def test_cors_off_by_default_and_configurable(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        r = c.get("/api/blocks", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in r.headers
    with TestClient(create_app(Settings(data_dir=tmp_path, cors_origins=("http://ok.example",)))) as c:
        r = c.get("/api/blocks", headers={"Origin": "http://ok.example"})
        assert r.headers["access-control-allow-origin"] == "http://ok.example"


def test_serve_binds_loopback_by_default(monkeypatch):
    seen = {}
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: seen.update(host=host, port=port))
    cli(["serve"])
    assert seen == {"host": "127.0.0.1", "port": 8000}


def test_cli_validate_and_export(tmp_path, capsys):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(template("d2l_tied")))
    bad.write_text(json.dumps(chain([20], ("hidden", "Linear", {"out_features": 128}), ("out", "Linear", {"in_features": 256}))))
    assert cli(["validate", str(good)]) == 0
    assert "ok: 121 parameters" in capsys.readouterr().out
    assert cli(["validate", str(bad)]) == 1
    assert "out [in_features]: Linear 'out' expects 256 input features but receives 128 from 'hidden'" in capsys.readouterr().out
    out = tmp_path / "model.py"
    assert cli(["export", str(good), "-o", str(out)]) == 0
    run = subprocess.run([sys.executable, str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "torch.Size([2, 1])" in run.stdout
    assert cli(["export", str(bad)]) == 1


def test_cli_rejects_non_documents(tmp_path):
    f = tmp_path / "x.json"
    f.write_text("[1, 2")
    with pytest.raises(SystemExit, match="not a graph document"):
        cli(["validate", str(f)])


def test_cli_train_writes_weights_that_load_into_the_export(tmp_path, capsys):
    import torch

    from graphs import load_exported

    design = tmp_path / "linreg.json"
    design.write_text(json.dumps(template("linear_regression")))
    out = tmp_path / "w.pt"
    code = cli(["train", str(design), "--dataset", "synthetic_regression", "--epochs", "3", "--batch-size", "10",
                "--optimizer", "sgd", "--lr", "0.03", "--out", str(out), "--data-dir", str(tmp_path)])
    printed = capsys.readouterr().out
    assert code == 0 and "epoch 3/3" in printed and "completed" in printed
    Model = load_exported(_export_src(design))
    m = Model()
    m.load_state_dict(torch.load(out, weights_only=True), strict=True)
    torch.testing.assert_close(m.net.weight, torch.tensor([[2.0, -3.4]]), atol=0.05, rtol=0)
    assert cli(["train", str(design), "--dataset", "digits"]) == 1  # a [2] input cannot take 8x8 images
    assert "Input 'X' has shape [2]" in capsys.readouterr().err


def _export_src(design) -> str:
    from blocklab.graph.build import source_for
    from blocklab.graph.document import GraphDoc

    return source_for(GraphDoc.model_validate_json(design.read_text()))
