"""GET /api/runs/{id}/evaluation: the checkpoint on the validation split, against scikit-learn's
metrics on predictions from the downloaded weights run in the exported PyTorch model."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix, r2_score

from runs_fixtures import create, exported_model, run_body, wait
from blocklab.data import BUILTIN, load


def _predict(client, rid: str, graph: dict, x: torch.Tensor, which: str) -> torch.Tensor:
    model = exported_model(client, graph)
    raw = client.get(f"/api/runs/{rid}/state_dict", params={"which": which}).content
    model.load_state_dict(torch.load(io.BytesIO(raw), weights_only=True), strict=True)
    model.eval()
    with torch.no_grad():
        return model(x)


def test_confusion_matrix_and_per_class_accuracy_of_a_digits_run(client):
    body = run_body("lenet_digits", epochs=2, device="cpu")
    rid = create(client, body)
    assert wait(client, rid)["status"] == "completed"
    r = client.get(f"/api/runs/{rid}/evaluation")
    assert r.status_code == 200, r.text
    ev = r.json()
    kind = BUILTIN["digits"]
    data = load(kind, kind.params.model_validate(body["dataset"]["params"]))
    pred = _predict(client, rid, body["graph"], data.x_val, ev["which"]).argmax(1).numpy()
    ref = confusion_matrix(data.y_val.numpy(), pred, labels=list(range(10)))
    assert ev["task"] == "classification" and ev["which"] == "best" and ev["n"] == len(data.y_val)
    assert np.array_equal(np.asarray(ev["matrix"]), ref)
    assert ev["classes"] == [str(i) for i in range(10)]
    assert ev["accuracy"] == pytest.approx(np.trace(ref) / ref.sum())
    row = ev["per_class"][3]
    assert row["class"] == "3" and row["support"] == ref[3].sum() and row["accuracy"] == pytest.approx(ref[3, 3] / ref[3].sum())
    assert client.get(f"/api/runs/{rid}/evaluation", params={"which": "last"}).json()["which"] == "last"


def test_predicted_against_true_of_a_regression_run(client):
    body = run_body("linear_regression", epochs=2, device="cpu")
    rid = create(client, body)
    assert wait(client, rid)["status"] == "completed"
    ev = client.get(f"/api/runs/{rid}/evaluation", params={"limit": 50}).json()
    kind = BUILTIN["synthetic_regression"]
    data = load(kind, kind.params.model_validate(body["dataset"]["params"]))
    pred = _predict(client, rid, body["graph"], data.x_val, ev["which"]).double()
    assert ev["task"] == "regression" and ev["targets"] == 1 and len(ev["true"]) == 50
    step = len(data.y_val) // 50
    assert np.allclose(ev["true"], data.y_val[::step][:50].double().numpy())
    assert np.allclose(ev["predicted"], pred[::step][:50].numpy(), atol=1e-5)
    assert ev["r2"][0] == pytest.approx(r2_score(data.y_val.numpy(), pred.numpy()), abs=1e-5)
    assert ev["mse"] == pytest.approx(float(((pred - data.y_val.double()) ** 2).mean()), rel=1e-4)


def test_evaluation_before_any_checkpoint_or_of_an_unknown_run(client):
    assert client.get("/api/runs/nope/evaluation").status_code == 404
    rid = create(client, run_body("linear_regression", epochs=1, device="cpu"))
    wait(client, rid)
    import shutil

    shutil.rmtree(client.app.state.settings.data_dir / "runs" / rid)
    r = client.get(f"/api/runs/{rid}/evaluation")
    assert r.status_code == 409 and "no last checkpoint" in r.json()["detail"]
