"""Image datasets: a zip of PNG class folders and an .npz upload through POST /api/datasets,
checked before anything is stored; the digits image set; training LeNet on an upload."""

from __future__ import annotations

import io
import time
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from images_fixtures import bomb, class_zip, digits_uint8, digits_zip, npz, png, png_declaring
from runs_fixtures import create, template, wait
from blocklab.data import BUILTIN, get_kind, load
from blocklab.data.image_base import ImageError, Limits
from blocklab.data.image_zip import parse as parse_zip


def upload(client, raw: bytes, filename: str = "imgs.zip", **form):
    return client.post("/api/datasets", files={"file": (filename, raw, "application/octet-stream")},
                       data={k: str(v) for k, v in form.items()})


def stored_files(settings) -> list[str]:
    folder = settings.data_dir / "datasets"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def error_of(r) -> dict:
    return r.json()["detail"]["errors"][0]


def test_a_zip_of_png_class_folders_becomes_one_array_in_imagefolder_order(client, settings):
    raw, x, y = digits_zip()
    r = upload(client, raw, name="mydigits")
    assert r.status_code == 201, r.text
    info = r.json()
    assert info["input_shape"] == [1, 8, 8] and info["task"] == "classification"  # gray: every image is
    assert info["classes"] == [f"d{c}" for c in range(10)] and "image" in info["tags"] and info["uploaded"]
    kind = get_kind("mydigits", settings.data_dir)
    d = load(kind, kind.params())
    n_train = 10 * 12  # the val/ folder is the validation split, in order
    assert len(d.x_train) == n_train and len(d.x_val) == 10 * 3
    expect = torch.as_tensor(x, dtype=torch.float32)[:, None] / 255
    assert torch.equal(d.x_train, expect[:n_train]) and torch.equal(d.x_val, expect[n_train:])
    assert torch.equal(torch.cat([d.y_train, d.y_val]), torch.as_tensor(y))
    assert "mydigits" in {k["name"] for k in client.get("/api/datasets").json()}
    s = client.get("/api/datasets/mydigits/samples", params={"split": "val", "limit": 5}).json()
    assert np.asarray(s["inputs"]).shape == (5, 1, 8, 8)


def test_images_are_resized_with_pillow_and_colour_is_kept(client, settings):
    rng = np.random.default_rng(0)
    imgs = {c: [rng.integers(0, 256, (10, 14, 3), dtype=np.uint8) for _ in range(4)] for c in ("cat", "dog")}
    r = upload(client, class_zip({"train": imgs}, prefix="pets/"), name="pets", size=6)
    assert r.status_code == 201, r.text
    assert r.json()["input_shape"] == [3, 6, 6]
    kind = get_kind("pets", settings.data_dir)
    d = load(kind, kind.params(val_fraction=0.25))
    assert len(d.x_train) == 6 and len(d.x_val) == 2  # no val/ folder: a stratified split
    ref = np.asarray(Image.fromarray(imgs["cat"][0]).resize((6, 6), Image.Resampling.BILINEAR))
    got = (torch.cat([d.x_train, d.x_val]) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert any(np.array_equal(g, ref) for g in got)


def test_sixteen_bit_pngs_are_scaled_not_clipped():
    a = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)  # 0..63000
    imgs = {c: [a, a[::-1].copy(), a.T.copy()] for c in "ab"}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for c, xs in imgs.items():
            for i, x in enumerate(xs):
                z.writestr(f"train/{c}/{i}.png", png(x))
    p = parse_zip(buf.getvalue(), None, "auto", Limits())
    assert p.x.shape == (6, 1, 8, 8)
    assert np.array_equal(p.x[0, 0], np.rint(a / 257).astype(np.uint8))  # 65535 -> 255


def test_train_lenet_on_uploaded_pngs(client):
    raw, _, _ = digits_zip(per_class=20, val_per_class=5)
    assert upload(client, raw, name="pngdigits").status_code == 201
    t = template("lenet_digits")
    rid = create(client, {"graph": t["graph"], **t["train"], "dataset": {"name": "pngdigits"}, "epochs": 2,
                          "device": "cpu"})
    run = wait(client, rid)
    assert run["status"] == "completed", run["error"]
    assert run["metrics"]["val_accuracy"] is not None


def test_a_zip_bomb_is_refused_from_its_directory_and_stores_nothing(client, settings):
    raw = bomb()  # 600 MB of zeros in 0.6 MB
    t0 = time.monotonic()
    r = upload(client, raw, name="boom")
    took = time.monotonic() - t0
    assert r.status_code == 413 and "expands to 603,979,776 bytes" in error_of(r)["message"]
    assert took < 30  # (not a timing test: 600 MB would take far longer to decode and store)
    assert stored_files(settings) == []


def test_a_truncated_png_is_named_and_nothing_is_stored(client, settings):
    x, _ = digits_uint8()
    good = {c: [x[i] for i in range(4)] for c in ("a", "b")}
    raw = class_zip({"train": good})
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, data[: len(data) // 2] if info.filename == "train/b/00002.png" else data)
    r = upload(client, buf.getvalue(), name="trunc")
    assert r.status_code == 422 and "'train/b/00002.png' is not a readable image" in error_of(r)["message"]
    assert error_of(r)["field"] == "file" and stored_files(settings) == []


@pytest.mark.parametrize("case,message,status", [
    ("pixels", "'train/b/big.png' declares too many pixels", 413),
    ("layout", "is not in a class folder", 422),
    ("one_class", "needs 2 or more", 422),
    ("val_class", "val/zebra is a class with no folder in train/", 422),
    ("not_zip", "not a readable zip", 422),
])
def test_bad_zips_get_a_clear_4xx(client, settings, case, message, status):
    img = np.zeros((8, 8), np.uint8)
    files = {
        "pixels": {**{f"train/{c}/{i}.png": png(img) for c in "ab" for i in range(3)},
                   "train/b/big.png": png_declaring(30000, 30000)},
        "layout": {"train/a/0.png": png(img), "train/loose.png": png(img)},
        "one_class": {f"train/a/{i}.png": png(img) for i in range(5)},
        "val_class": {**{f"train/{c}/{i}.png": png(img) for c in "ab" for i in range(3)}, "val/zebra/0.png": png(img)},
    }.get(case)
    if files is None:
        raw = b"PK\x03\x04 this is not a zip"
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for k, v in files.items():
                z.writestr(k, v)
        raw = buf.getvalue()
    r = upload(client, raw, name=f"bad-{case.replace('_', '-')}")
    assert r.status_code == status, r.text
    assert message in error_of(r)["message"]
    assert stored_files(settings) == []


def test_limits_on_entries_images_and_stored_bytes():
    raw = class_zip({"train": {c: [np.zeros((8, 8), np.uint8)] * 3 for c in "abc"}})
    with pytest.raises(ImageError, match="entries; the limit is 5") as e:
        parse_zip(raw, None, "auto", Limits(max_entries=5))
    assert e.value.status == 413
    with pytest.raises(ImageError, match="9 images; the limit is 8"):
        parse_zip(raw, None, "auto", Limits(max_images=8))
    with pytest.raises(ImageError, match="would take 9,216 bytes") as e:
        parse_zip(raw, (32, 32), "auto", Limits(max_stored=9000))
    assert e.value.field == "size"
    with pytest.raises(ImageError, match="'train/a/00000.png' is 8x8 pixels; the limit is 50") as e:
        parse_zip(raw, None, "auto", Limits(max_pixels=50))
    assert e.value.status == 413


def test_npz_uploads_pickles_and_mismatched_lengths(client, settings):
    x, y = digits_uint8()
    ok = upload(client, npz(x=x[:100], y=y[:100], x_val=x[100:120], y_val=y[100:120]), "d.npz", name="npzdigits")
    assert ok.status_code == 201, ok.text
    assert ok.json()["input_shape"] == [1, 8, 8] and ok.json()["classes"] == [str(i) for i in range(10)]
    kind = get_kind("npzdigits", settings.data_dir)
    d = load(kind, kind.params())
    assert len(d.x_train) == 100 and torch.equal(d.y_val, torch.as_tensor(y[100:120]))
    before = stored_files(settings)

    bad = {
        "pickle": (npz(x=np.array([{"a": 1}] * 4, dtype=object), y=np.zeros(4, int)), "holds Python objects"),
        "lengths": (npz(x=x[:10], y=y[:9]), "'x' has 10 samples but 'y' has 9"),
        "missing": (npz(x=x[:10]), "has no array 'y'"),
        "extra": (npz(x=x[:10], y=y[:10], z=y[:10]), "holds an array 'z'"),
        "nan": (npz(x=np.full((5, 4), np.nan), y=y[:5]), "non-finite"),
    }
    for case, (raw, message) in bad.items():
        r = upload(client, raw, "bad.npz", name=f"bad-{case}")
        assert r.status_code == 422, (case, r.text)
        assert message in error_of(r)["message"], case
    assert stored_files(settings) == before


def test_names_are_claimed_once_across_formats(client):
    raw, _, _ = digits_zip(per_class=3, val_per_class=0)
    assert upload(client, raw, name="taken").status_code == 201
    assert upload(client, raw, name="taken").status_code == 409
    csv = "a,b\n" + "\n".join(f"{i},{i % 2}" for i in range(8))
    r = client.post("/api/datasets", files={"file": ("t.csv", csv, "text/csv")}, data={"target": "b", "name": "taken"})
    assert r.status_code == 409
    r = client.post("/api/datasets", files={"file": ("t.csv", csv, "text/csv")}, data={"name": "nocol"})
    assert r.status_code == 422 and error_of(r)["field"] == "target"


def test_digits_images_match_sklearn_and_resize():
    kind = BUILTIN["digits_images"]
    small = load(kind, kind.params(size=8))
    ref = load(BUILTIN["digits"], BUILTIN["digits"].params())
    # Same split and labels; pixels equal up to the uint8 step (1/255) the images are stored in.
    assert torch.equal(small.y_train, ref.y_train)
    assert (small.x_train - ref.x_train).abs().max() <= 0.5 / 255 + 1e-6
    big = load(kind, kind.params())
    assert big.x_train.shape[1:] == (1, 28, 28) and 0 <= float(big.x_train.min()) and float(big.x_train.max()) <= 1
