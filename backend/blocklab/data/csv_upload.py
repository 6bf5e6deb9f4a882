"""CSV upload: a table with a header row becomes a stored dataset, usable by name.

Stored under <data dir>/datasets/<name>.npz (plain arrays, loaded with allow_pickle=False)
with <name>.json beside it describing the columns, the task and the class labels.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from blocklab.data.base import Data, DatasetKind, Info, from_numpy, standardize, stratified_order
from blocklab.data.bundled import SplitP

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
MAX_CLASSES = 1000
AUTO_CLASSES = 20  # integer targets with at most this many distinct values read as classes


class CsvError(ValueError):
    """A CSV that cannot become a dataset; `field` is the form field at fault."""

    def __init__(self, message: str, field: str = "file"):
        super().__init__(message)
        self.field = field


def _num(s: str) -> float | None:
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def parse(raw: bytes, target: str, task: Literal["auto", "regression", "classification"] = "auto"):
    """bytes -> (x [N, F] float64, y, meta). Raises CsvError with a message naming the problem."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError("the file is not UTF-8 text; save the CSV as UTF-8") from None
    try:
        rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    except csv.Error as e:
        raise CsvError(f"the file is not valid CSV: {e}") from None
    if len(rows) < 2:
        raise CsvError("the CSV needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise CsvError(f"the header names column '{dup}' more than once")
    if target not in header:
        raise CsvError(f"there is no column '{target}'; the columns are {', '.join(header[:50])}", "target")
    if len(header) < 2:
        raise CsvError("the CSV needs at least one feature column besides the target")
    data = rows[1:]
    if len(data) < 4:
        raise CsvError(f"the CSV has {len(data)} data rows; at least 4 are needed for a train/validation split")
    ti = header.index(target)
    feats = [i for i in range(len(header)) if i != ti]
    x = np.empty((len(data), len(feats)))
    labels: list[str] = []
    for r, row in enumerate(data, start=2):
        if len(row) != len(header):
            raise CsvError(f"line {r} has {len(row)} fields; the header has {len(header)}")
        for j, i in enumerate(feats):
            v = _num(row[i].strip())
            if v is None:
                what = "is empty" if not row[i].strip() else f"has '{row[i][:40]}', not a finite number"
                raise CsvError(f"column '{header[i]}' {what} at line {r}; feature columns must be numbers")
            x[r - 2, j] = v
        if not row[ti].strip():
            raise CsvError(f"the target column '{target}' is empty at line {r}")
        labels.append(row[ti].strip())

    nums = [_num(s) for s in labels]
    numeric = all(v is not None for v in nums)
    if task == "auto":
        ints = numeric and all(float(v).is_integer() for v in nums)
        task = "classification" if not numeric or (ints and len(set(nums)) <= AUTO_CLASSES) else "regression"
    if task == "regression":
        if not numeric:
            bad = next(s for s, v in zip(labels, nums) if v is None)
            raise CsvError(f"regression needs a numeric target, but '{target}' has '{bad[:40]}'", "task")
        return x, np.asarray(nums, dtype=np.float64), {"task": "regression", "classes": None}
    keys = sorted(set(nums)) if numeric else sorted(set(labels))
    if len(keys) < 2:
        raise CsvError(f"the target column '{target}' has a single value; classification needs 2 or more", "target")
    if len(keys) > MAX_CLASSES:
        raise CsvError(f"the target column '{target}' has {len(keys)} distinct values; the limit is {MAX_CLASSES}", "task")
    index = {k: i for i, k in enumerate(keys)}
    y = np.asarray([index[v] for v in (nums if numeric else labels)], dtype=np.int64)
    names = [(str(int(k)) if float(k).is_integer() else str(k)) if numeric else k for k in keys]
    return x, y, {"task": "classification", "classes": names}


def save(data_dir: Path, name: str, target: str, filename: str, raw: bytes, task: str) -> dict:
    x, y, meta = parse(raw, target, task)  # type: ignore[arg-type]
    folder = data_dir / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    meta |= {
        "name": name, "target": target, "filename": filename[:200], "rows": int(len(x)),
        "features": int(x.shape[1]), "created_at": datetime.now(timezone.utc).isoformat(),
    }
    _atomic(folder / f"{name}.npz", lambda f: np.savez(f, x=x, y=y))
    _atomic(folder / f"{name}.json", lambda f: f.write(json.dumps(meta).encode()))
    return meta


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def stored(data_dir: Path) -> dict[str, dict]:
    folder = data_dir / "datasets"
    if not folder.is_dir():
        return {}
    out = {}
    for p in sorted(folder.glob("*.json")):
        try:
            out[p.stem] = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
    return out


@lru_cache(maxsize=16)
def _arrays(path: str, mtime: float):
    with np.load(path, allow_pickle=False) as z:
        return z["x"], z["y"]


def kind(data_dir: Path, meta: dict) -> DatasetKind:
    """A DatasetKind for one uploaded CSV (features standardized with training statistics)."""
    path = data_dir / "datasets" / f"{meta['name']}.npz"
    classes = meta.get("classes")

    def info(p: SplitP) -> Info:
        if meta["task"] == "classification":
            return Info("classification", (meta["features"],), (), len(classes), classes)
        return Info("regression", (meta["features"],), (1,))

    def make(p: SplitP) -> Data:
        x, y = _arrays(str(path), path.stat().st_mtime)
        if meta["task"] == "classification":
            order, n_train = stratified_order(y, p.val_fraction, p.seed)
        else:
            order = np.random.default_rng(p.seed).permutation(len(y))
            n_train = len(y) - max(1, int(round(len(y) * p.val_fraction)))
        yo = y[order] if meta["task"] == "classification" else y[order][:, None]
        return from_numpy(info(p), standardize(x[order], n_train), yo, n_train)

    doc = f"Uploaded CSV '{meta.get('filename', '')}': {meta['rows']} rows, target '{meta['target']}'."
    return DatasetKind(meta["name"], meta["name"], doc, SplitP, info, make, (meta["task"], "uploaded"))
