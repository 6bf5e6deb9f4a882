"""Datasets: the catalog, the generated data against its definition, CSV upload."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from runs_fixtures import create, mlp, wait
from blocklab.data import BUILTIN, load

NAMES = {"synthetic_regression", "moons", "circles", "spirals", "xor", "blobs", "digits", "iris", "wine"}


def test_catalog_lists_every_dataset_with_schema_and_shapes(client):
    got = {d["name"]: d for d in client.get("/api/datasets").json()}
    assert NAMES <= set(got)
    assert got["digits"]["input_shape"] == [1, 8, 8] and got["digits"]["n_classes"] == 10
    assert "flatten" in got["digits"]["params_schema"]["properties"]
    assert {"w", "b", "n", "noise"} <= set(got["synthetic_regression"]["params_schema"]["properties"])
    assert {"n", "n_features", "centers"} <= set(got["blobs"]["params_schema"]["properties"])
    assert got["synthetic_regression"]["task"] == "regression" and got["synthetic_regression"]["target_shape"] == [1]
    assert got["iris"]["classes"] == ["setosa", "versicolor", "virginica"]


@pytest.mark.parametrize("name", sorted(NAMES))
def test_every_dataset_has_a_validation_split(name):
    kind = BUILTIN[name]
    p = kind.params()
    d = load(kind, p)
    info = kind.info(p)
    assert len(d.x_val) > 0 and len(d.x_train) > len(d.x_val) / 2
    assert d.x_train.shape[1:] == info.input_shape and d.x_train.dtype == torch.float32
    assert torch.isfinite(d.x_train).all()
    if info.task == "classification":
        assert d.y_train.dtype == torch.long and set(d.y_train.unique().tolist()) == set(range(info.n_classes))


def test_synthetic_regression_is_d2ls_linear_model():
    kind = BUILTIN["synthetic_regression"]
    d = load(kind, kind.params(w=[2, -3.4], b=4.2, n=1000, noise=0.01))
    x = torch.cat([d.x_train, torch.ones(len(d.x_train), 1)], 1).double()
    sol = torch.linalg.lstsq(x, d.y_train.double()).solution.squeeze(1)
    assert torch.allclose(sol, torch.tensor([2, -3.4, 4.2], dtype=torch.float64), atol=0.01)
    assert len(d.x_train) == 1000 and len(d.x_val) == 1000  # D2L: num_train = num_val


def test_digits_flatten_and_spirals_params():
    digits = BUILTIN["digits"]
    flat = load(digits, digits.params(flatten=True))
    img = load(digits, digits.params(flatten=False))
    assert flat.x_train.shape[1:] == (64,) and img.x_train.shape[1:] == (1, 8, 8)
    assert torch.equal(flat.x_train, img.x_train.reshape(-1, 64)) and float(img.x_train.max()) <= 1.0
    sp = BUILTIN["spirals"]
    d = load(sp, sp.params(n=300, noise=0.1, classes=3))
    assert len(d.x_train) == 300 and sp.info(sp.params(classes=3)).n_classes == 3


CSV = "a,b,label\n" + "\n".join(f"{i % 7},{(i * 3) % 5},{'yes' if i % 2 else 'no'}" for i in range(40)) + "\n"


def test_csv_upload_classification_trains(client):
    r = client.post("/api/datasets", files={"file": ("toy.csv", CSV)}, data={"target": "label"})
    assert r.status_code == 201, r.text
    info = r.json()
    assert info["name"] == "toy" and info["task"] == "classification" and info["classes"] == ["no", "yes"]
    assert info["input_shape"] == [2] and info["uploaded"]
    assert "toy" in {d["name"] for d in client.get("/api/datasets").json()}
    rid = create(client, {"graph": mlp(2, 8, 2), "dataset": {"name": "toy"}, "loss": "cross_entropy",
                          "epochs": 2, "batch_size": 8})
    assert wait(client, rid)["status"] == "completed"
    assert client.post("/api/datasets", files={"file": ("toy.csv", CSV)}, data={"target": "label"}).status_code == 409


def test_csv_upload_regression(client):
    rows = "\n".join(f"{x},{2 * x + 1.5}" for x in np.linspace(0, 1, 50))
    r = client.post("/api/datasets", files={"file": ("lin.csv", "x,y\n" + rows)}, data={"target": "y", "name": "lin"})
    assert r.status_code == 201 and r.json()["task"] == "regression" and r.json()["target_shape"] == [1]


@pytest.mark.parametrize("content, target, field, words", [
    ("a,b\n1,2\n3,4\n5,6\n7,8\n", "c", "target", "no column 'c'"),
    ("a,b\n1,x\n3,4\n5,6\n7,8\n", "a", "file", "column 'b'"),
    ("a,b\n1,\n3,4\n5,6\n7,8\n", "a", "file", "is empty"),
    ("a,b\n1,2\n3\n5,6\n7,8\n", "a", "file", "line 3"),
    ("a,b\n1,2\n", "a", "file", "data rows"),
    ("a,a\n1,2\n3,4\n5,6\n7,8\n", "a", "file", "more than once"),
    ("a\n1\n2\n3\n4\n", "a", "file", "feature column"),
    ("a,b\n1,nan\n3,4\n5,6\n7,8\n", "a", "file", "finite"),
    ("", "a", "file", "header"),
])
def test_bad_csvs_are_clear_422s(client, content, target, field, words):
    r = client.post("/api/datasets", files={"file": ("bad.csv", content)}, data={"target": target})
    assert r.status_code == 422, r.text
    err = r.json()["detail"]["errors"][0]
    assert err["field"] == field and words in err["message"], err


def test_bad_upload_names_and_encodings(client):
    ok = "a,b\n1,0\n2,1\n3,0\n4,1\n"
    assert client.post("/api/datasets", files={"file": ("m.csv", ok)}, data={"target": "b", "name": "moons"}).status_code == 422
    assert client.post("/api/datasets", files={"file": ("m.csv", ok)}, data={"target": "b", "name": "../x"}).status_code == 422
    r = client.post("/api/datasets", files={"file": ("m.csv", b"\xff\xfe\x00a")}, data={"target": "b"})
    assert r.status_code == 422 and "UTF-8" in r.json()["detail"]["errors"][0]["message"]
    assert client.post("/api/datasets", data={"target": "b"}).status_code == 422
