"""Image uploads: a zip of class folders (data.image_zip) or an .npz of arrays (data.image_npz)
becomes a stored dataset, usable by name like an uploaded CSV.

Everything is checked in memory before anything touches the disk: the zip's directory
(entries, declared sizes), each image's header (pixels), the stored array's size. Stored as
<data dir>/datasets/<name>.npz (x uint8 [N, C, H, W] or float32, y) with <name>.json beside it
(`"format": "images"`, which the dataset registry reads to pick `kind` below). Both files are
published with a hard link, which fails if the name exists: a name is claimed once, by the
first upload that finishes, whatever its format.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import Field

from blocklab.data import image_npz, image_zip
from blocklab.data.base import Data, DatasetKind, Info, from_numpy, stratified_order
from blocklab.data.bundled import SplitP
from blocklab.data.image_base import LIMITS, Color, ImageError, Limits, Parsed  # noqa: F401  (re-exported)

FORMAT = "images"


def accepts(filename: str, raw: bytes) -> bool:
    """A zip (an .npz is one too) goes to the image parsers; anything else is read as CSV."""
    return raw[:4] == b"PK\x03\x04" or filename.lower().endswith((".zip", ".npz"))


def parse(filename: str, raw: bytes, size: tuple[int, int] | None, color: Color, limits: Limits = LIMITS) -> Parsed:
    if filename.lower().endswith(".npz"):
        return image_npz.parse(raw, size, limits)
    return image_zip.parse(raw, size, color, limits)


def save(data_dir: Path, name: str, filename: str, raw: bytes, size: int | None, color: Color,
         limits: Limits = LIMITS) -> dict:
    """Parse, then publish <name>.npz and <name>.json; FileExistsError if the name is taken."""
    p = parse(filename, raw, None if size is None else (size, size), color, limits)
    meta = {
        "format": FORMAT, "name": name, "filename": filename[:200], "source": p.source, "task": p.task,
        "classes": p.classes, "input_shape": list(p.x.shape[1:]),
        "target_shape": [] if p.task == "classification" else list(p.y.shape[1:]),
        "samples": int(len(p.x)), "n_train": p.n_train, "pixels": str(p.x.dtype),
        "skipped": p.skipped, "created_at": datetime.now(timezone.utc).isoformat(),
    }
    folder = data_dir / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp_npz, tmp_json = folder / f".{name}.{tag}.npz.tmp", folder / f".{name}.{tag}.json.tmp"
    final_npz, final_json = folder / f"{name}.npz", folder / f"{name}.json"
    try:
        _write(tmp_npz, lambda f: np.savez(f, x=p.x, y=p.y))
        _write(tmp_json, lambda f: f.write(json.dumps(meta).encode()))
        os.link(tmp_npz, final_npz)  # the claim: fails when the name exists
        try:
            os.link(tmp_json, final_json)
        except FileExistsError:
            final_npz.unlink()
            raise
    finally:
        for t in (tmp_npz, tmp_json):
            t.unlink(missing_ok=True)
    return meta


def _write(path: Path, write) -> None:
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


@lru_cache(maxsize=8)
def _arrays(path: str, mtime: float):
    with np.load(path, allow_pickle=False) as z:
        return z["x"], z["y"]


class ImageP(SplitP):
    flatten: bool = Field(False, description="true: samples flattened to [C*H*W]; false: images [C, H, W]")


def kind(data_dir: Path, meta: dict) -> DatasetKind:
    """A DatasetKind for one uploaded image set (pixels scaled to [0, 1]). With a val/ folder
    (or x_val in the .npz) the validation split is that one, and val_fraction and seed are unused."""
    path = data_dir / "datasets" / f"{meta['name']}.npz"
    shape, classes = tuple(meta["input_shape"]), meta.get("classes")

    def info(p: ImageP) -> Info:
        ishape = (int(np.prod(shape)),) if p.flatten else shape
        if meta["task"] == "classification":
            return Info("classification", ishape, (), len(classes), classes)
        return Info("regression", ishape, tuple(meta["target_shape"]))

    def make(p: ImageP) -> Data:
        x, y = _arrays(str(path), path.stat().st_mtime)
        n_train = meta.get("n_train")
        if n_train is None:
            if meta["task"] == "classification":
                order, n_train = stratified_order(y, p.val_fraction, p.seed)
            else:
                order = np.random.default_rng(p.seed).permutation(len(y))
                n_train = len(y) - max(1, int(round(len(y) * p.val_fraction)))
            x, y = x[order], y[order]
        xf = x.astype(np.float32)
        return from_numpy(info(p), xf / 255 if x.dtype == np.uint8 else xf, y, n_train)

    n_val = "a val/ folder" if meta.get("n_train") is not None else "val_fraction"
    doc = (f"Uploaded images '{meta.get('filename', '')}': {meta['samples']} samples of shape "
           f"{meta['input_shape']}, validation from {n_val}.")
    return DatasetKind(meta["name"], meta["name"], doc, ImageP, info, make, (meta["task"], "image", "uploaded"))
