"""Weights: download in both formats and load strict into the exported source; upload
safetensors to evaluate or continue training; pickle is refused unread."""

from __future__ import annotations

import io
import json

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from runs_fixtures import create, exported_model, run_body, template, wait


def test_download_both_formats_loads_strict_into_exported_source(client):
    body = run_body("lenet_digits", epochs=1)
    rid = create(client, body)
    assert wait(client, rid)["status"] == "completed"
    pt = client.get(f"/api/runs/{rid}/state_dict?format=pt")
    st = client.get(f"/api/runs/{rid}/state_dict?format=safetensors")
    assert pt.status_code == st.status_code == 200
    from_pt = torch.load(io.BytesIO(pt.content), weights_only=True)
    from_st = st_load(st.content)
    assert from_pt.keys() == from_st.keys()
    x = torch.rand(5, 1, 8, 8)
    outs = []
    for sd in (from_pt, from_st):
        m = exported_model(client, body["graph"])
        m.load_state_dict(sd, strict=True)
        m.eval()
        outs.append(m(x))
    assert torch.equal(outs[0], outs[1])
    # The same weights through the API's own inference give the same outputs.
    pred = client.post(f"/api/runs/{rid}/predict", json={"inputs": x.tolist()}).json()
    assert torch.allclose(torch.tensor(pred["outputs"]), outs[0], atol=1e-5)
    assert client.get(f"/api/runs/{rid}/state_dict?format=pt&which=best").status_code == 200
    assert client.get(f"/api/runs/{rid}/state_dict?format=zip").status_code == 422


def test_tied_weights_download_lists_both_ids(client):
    graph = template("d2l_tied")["graph"]
    shape = next(n for n in graph["nodes"] if n["type"] == "Input")["params"]["shape"]
    body = {"graph": graph, "dataset": {"name": "synthetic_regression", "params": {"w": [1.0] * shape[0]}},
            "loss": "mse", "optimizer": {"name": "sgd", "lr": 0.01}, "epochs": 1, "batch_size": 32}
    rid = create(client, body)
    run = wait(client, rid)
    assert run["status"] == "completed", run
    sd = torch.load(io.BytesIO(client.get(f"/api/runs/{rid}/state_dict").content), weights_only=True)
    m = exported_model(client, graph)
    m.load_state_dict(sd, strict=True)
    assert set(sd) == set(m.state_dict())


def _upload(client, graph, data: bytes, name="w.safetensors"):
    return client.post("/api/weights", files={"file": (name, data)}, data={"graph": json.dumps(graph)})


def test_upload_weights_then_evaluate_and_continue(client):
    graph = run_body("linear_regression")["graph"]
    good = {"net.weight": torch.tensor([[2.0, -3.4]]), "net.bias": torch.tensor([4.2])}
    r = _upload(client, graph, st_save(good))
    assert r.status_code == 201, r.text
    wid = r.json()["id"]
    # epochs 0: evaluate the uploaded weights as they are.
    rid = create(client, run_body("linear_regression", epochs=0, init_weights=wid))
    run = wait(client, rid)
    assert run["status"] == "completed" and run["metrics"]["val_loss"] < 1e-3
    assert torch.equal(st_load(client.get(f"/api/runs/{rid}/state_dict?format=safetensors").content)["net.bias"],
                       good["net.bias"])
    # Continue training from them.
    rid = create(client, run_body("linear_regression", epochs=1, init_weights=wid))
    assert wait(client, rid)["status"] == "completed"
    epochs = client.get(f"/api/runs/{rid}/metrics?type=epoch").json()
    assert epochs[0]["train_loss"] < 1e-3  # started at the solution, not at a fresh init


def test_bad_weights_are_422(client):
    graph = run_body("linear_regression")["graph"]
    good = {"net.weight": torch.zeros(1, 2), "net.bias": torch.zeros(1)}
    buf = io.BytesIO()
    torch.save(good, buf)
    cases = {
        "pickle": buf.getvalue(),
        "garbage": b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}",
        "missing": st_save({"net.weight": good["net.weight"]}),
        "extra": st_save(good | {"other": torch.zeros(1)}),
        "shape": st_save(good | {"net.weight": torch.zeros(2, 2)}),
        "dtype": st_save(good | {"net.bias": torch.zeros(1, dtype=torch.float64)}),
        "nan": st_save(good | {"net.bias": torch.tensor([float("nan")])}),
    }
    for what, data in cases.items():
        r = _upload(client, graph, data)
        assert r.status_code == 422, (what, r.text)
        msg = r.json()["detail"]["errors"][0]["message"]
        assert {"pickle": "pickle", "garbage": "safetensors", "missing": "missing", "extra": "unexpected",
                "shape": "shape", "dtype": "dtype", "nan": "NaN"}[what] in msg, (what, msg)
    assert client.post("/api/weights", files={"file": ("w", st_save(good))}).status_code == 422  # no graph
    r = client.post("/api/runs", json=run_body("linear_regression", init_weights="0" * 32))
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "init_weights"


def test_uploaded_weights_must_fit_the_run_graph(client):
    small = run_body("linear_regression")["graph"]
    r = _upload(client, small, st_save({"net.weight": torch.zeros(1, 2), "net.bias": torch.zeros(1)}))
    wid = r.json()["id"]
    body = run_body("spirals_playground", init_weights=wid)
    r = client.post("/api/runs", json=body)
    assert r.status_code == 422
    assert all(e["field"] == "init_weights" for e in r.json()["detail"]["errors"])


class _Evil:
    """A pickle that would create a file when unpickled."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_payload_never_runs(client, tmp_path):
    import pickle

    marker = tmp_path / "pwned"
    graph = run_body("linear_regression")["graph"]
    for payload in (pickle.dumps(_Evil(str(marker))), pickle.dumps({"net.weight": _Evil(str(marker))})):
        r = _upload(client, graph, payload)
        assert r.status_code == 422
    assert not marker.exists()  # the side effect never happened
