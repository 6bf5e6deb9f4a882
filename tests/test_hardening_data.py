"""Issue 12, datasets: CSV uploads bounded and claimed once, generated data bounded in bytes."""

from __future__ import annotations

import concurrent.futures as cf
import json
import threading

import httpx
import numpy as np
import pytest

import blocklab.data as data
from blocklab.data import csv_upload
from blocklab.settings import Settings
from live_server import live_server


def csv_text(columns: list[str], rows: int, target_values=(0, 1)) -> str:
    lines = [",".join(columns)]
    for i in range(rows):
        lines.append(",".join([*(str((i * j) % 7) for j in range(len(columns) - 1)), str(target_values[i % 2])]))
    return "\n".join(lines) + "\n"


def upload(client, text: str, name: str, target: str = "t"):
    return client.post("/api/datasets", files={"file": (f"{name}.csv", text)}, data={"target": target, "name": name})


# ------------------------------------------------------------------ 5: bounded, linear CSV checks
def test_a_header_over_the_column_limit_is_a_422_naming_the_limit(client):
    cols = [f"c{i}" for i in range(csv_upload.MAX_COLUMNS)] + ["t"]
    r = upload(client, csv_text(cols, 4), "wide")
    assert r.status_code == 422
    assert r.json()["detail"]["errors"][0] == {
        "node": None, "field": "file", "message": f"the header has {len(cols):,} columns; the limit is 10,000"}


def test_a_duplicate_at_the_end_of_a_wide_header_is_named(client):
    cols = [f"c{i}" for i in range(9_998)] + ["c0", "t"]  # a quadratic check took seconds here
    r = upload(client, csv_text(cols, 4), "dup")
    assert r.status_code == 422
    assert r.json()["detail"]["errors"][0]["message"] == "the header names column 'c0' more than once"


def test_rows_beyond_the_value_limit_are_a_422_and_nothing_is_stored(client, monkeypatch):
    monkeypatch.setattr(csv_upload, "MAX_VALUES", 1000)  # 3 features: at most 333 rows
    r = upload(client, csv_text(["a", "b", "c", "t"], 334), "long")
    assert r.status_code == 422
    assert r.json()["detail"]["errors"][0]["message"].startswith("the CSV has more than 333 data rows")
    assert upload(client, csv_text(["a", "b", "c", "t"], 333), "long").status_code == 201


# ------------------------------------------------------------------ 8: one name, claimed once
def test_concurrent_uploads_of_one_name_give_one_201_and_409s_and_a_whole_dataset(tmp_path):
    widths = [2, 50, 2, 50, 2, 50, 2, 50]
    texts = [csv_text([f"f{j}" for j in range(w)] + ["t"], 2000) for w in widths]
    start = threading.Barrier(len(texts))
    with live_server(Settings(data_dir=tmp_path)) as base, httpx.Client(base_url=base, timeout=60) as c:
        def post(text):
            start.wait()
            return upload(c, text, "race")

        with cf.ThreadPoolExecutor(len(texts)) as ex:
            responses = list(ex.map(post, texts))
        codes = sorted(r.status_code for r in responses)
        assert codes == [201] + [409] * (len(texts) - 1), [r.text[:200] for r in responses]
        won = next(r for r in responses if r.status_code == 201).json()
        samples = c.get("/api/datasets/race/samples", params={"limit": 3})
        assert samples.status_code == 200 and samples.json()["input_shape"] == won["input_shape"]
    meta = json.loads((tmp_path / "datasets" / "race.json").read_text())
    with np.load(tmp_path / "datasets" / "race.npz") as z:
        assert z["x"].shape == (2000, meta["features"]) and [meta["features"]] == won["input_shape"]
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == ["race.json", "race.npz"]  # no temp files left


# ------------------------------------------------------------------ 6: generated data bounded
def test_samples_refuse_data_past_the_training_memory_limit_naming_the_param(tmp_path):
    from fastapi.testclient import TestClient
    from blocklab.app import create_app

    with TestClient(create_app(Settings(data_dir=tmp_path, max_train_bytes=64 * 1024**2))) as client:
        big = {"n": 1_000_000, "n_val": 1_000_000, "w": [1.0] * 25}  # 2M x 25 floats: about 200 MiB
        r = client.get("/api/datasets/synthetic_regression/samples", params={"params": json.dumps(big), "limit": 5})
        assert r.status_code == 422
        err = r.json()["detail"]["errors"][0]
        assert err["field"] == "params.n" and "BLOCKLAB_MAX_TRAIN_BYTES" in err["message"]
        small = {"n": 1000, "w": [1.0] * 25}
        r = client.get("/api/datasets/synthetic_regression/samples", params={"params": json.dumps(small), "limit": 5})
        assert r.status_code == 200 and len(r.json()["inputs"]) == 5


def test_the_generated_data_cache_stays_within_its_bytes(client, monkeypatch):
    monkeypatch.setattr(data, "CACHE_BYTES", 4 * 1024**2)
    monkeypatch.setattr(data, "_cache", type(data._cache)())
    for seed in range(6):  # each about 1.6 MB (40,000 samples x 10 floats)
        params = {"n": 20_000, "n_val": 20_000, "w": [1.0] * 10, "seed": seed}
        r = client.get("/api/datasets/synthetic_regression/samples", params={"params": json.dumps(params), "limit": 2})
        assert r.status_code == 200
        assert 0 < data.cached_bytes() <= data.CACHE_BYTES
    # the newest stays cached: asking again gives the very same tensors
    kind = data.get_kind("synthetic_regression", client.app.state.settings.data_dir)
    p = kind.params.model_validate({"n": 20_000, "n_val": 20_000, "w": [1.0] * 10, "seed": 5})
    assert data.load(kind, p) is data.load(kind, p)


@pytest.mark.parametrize("name", ["synthetic_regression", "moons", "blobs", "spirals"])
def test_the_size_estimate_matches_what_is_generated(name, tmp_path):
    kind = data.get_kind(name, tmp_path)
    p = kind.params.model_validate({"n": 300, "n_val": 100})
    d = kind.make(p)
    x_bytes = sum(t.element_size() * t.nelement() for t in (d.x_train, d.x_val))
    n = len(d.x_train) + len(d.x_val)
    assert n == kind.count(p) == 400
    assert data.data_bytes(kind, p) >= x_bytes + n * 8 * max(1, d.y_train[0].nelement())
