"""A run is held to BLOCKLAB_MAX_TRAIN_BYTES for its data too: its worker loads the whole dataset."""

from __future__ import annotations

from fastapi.testclient import TestClient

from blocklab.app import create_app
from blocklab.settings import Settings
from runs_fixtures import mlp


def test_a_run_whose_data_passes_the_memory_limit_is_refused(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, max_train_bytes=64 * 2**20))) as c:
        body = {"graph": mlp(100, 8, 2), "loss": "cross_entropy", "epochs": 1, "device": "cpu",
                "dataset": {"name": "blobs", "params": {"n": 200_000, "n_features": 100, "centers": 2}}}
        r = c.post("/api/runs", json=body)  # 200k x 100 float32 inputs: 80 MB
        assert r.status_code == 422, r.text
        errors = r.json()["detail"]["errors"]
        assert [e["field"] for e in errors] == ["dataset.params"], errors
        assert "BLOCKLAB_MAX_TRAIN_BYTES" in errors[0]["message"]
        small = body | {"dataset": {"name": "blobs", "params": {"n": 1000, "n_features": 100, "centers": 2}}}
        assert c.post("/api/runs", json=small).status_code == 201
