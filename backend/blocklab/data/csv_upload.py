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
import tempfile
from datetime import datetime, timezone
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


# Bounds on what one upload may become (checked while reading, before the arrays grow):
# features are float64 in memory, so MAX_VALUES is 80 MB.
MAX_COLUMNS = 10_000
MAX_ROWS = 1_000_000
MAX_VALUES = 10_000_000  # data rows x feature columns


class NameTaken(FileExistsError):
    """Another upload claimed this dataset name first."""


def parse(raw: bytes, target: str, task: Literal["auto", "regression", "classification"] = "auto"):
    """bytes -> (x [N, F] float64, y, meta). Raises CsvError with a message naming the problem.
    One pass over the rows; time and memory are linear in the file and bounded by MAX_*."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError("the file is not UTF-8 text; save the CSV as UTF-8") from None
    try:
        rows = (r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r))
        header = [h.strip() for h in next(rows, [])]
        ti, feats = _columns(header, target)
        # An upper bound on the data rows (a quoted field may hold newlines), so x is
        # allocated once; MAX_VALUES bounds it whatever the file says.
        max_rows = min(MAX_ROWS, MAX_VALUES // len(feats))
        x = np.empty((min(text.count("\n") + text.count("\r") + 1, max_rows), len(feats)))
        labels: list[str] = []
        for n, row in enumerate(rows):
            line = n + 2
            if n >= max_rows:
                raise CsvError(f"the CSV has more than {max_rows:,} data rows; the limits are {MAX_ROWS:,} rows and "
                               f"{MAX_VALUES:,} feature values (rows x feature columns)")
            if len(row) != len(header):
                raise CsvError(f"line {line} has {len(row)} fields; the header has {len(header)}")
            x[n] = _features(row, feats, header, line)
            if not row[ti].strip():
                raise CsvError(f"the target column '{target}' is empty at line {line}")
            labels.append(row[ti].strip())
    except csv.Error as e:
        raise CsvError(f"the file is not valid CSV: {e}") from None
    if len(labels) < 4:
        raise CsvError(f"the CSV has {len(labels)} data rows; at least 4 are needed for a train/validation split")
    return _target(x[: len(labels)], labels, target, task)


def _columns(header: list[str], target: str) -> tuple[int, list[int]]:
    """The target's index and the feature columns', after checking the header (linear time)."""
    if not header:
        raise CsvError("the CSV needs a header row and at least one data row")
    if len(header) > MAX_COLUMNS:
        raise CsvError(f"the header has {len(header):,} columns; the limit is {MAX_COLUMNS:,}")
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise CsvError(f"the header names column '{h[:100]}' more than once")
        seen.add(h)
    if target not in seen:
        raise CsvError(f"there is no column '{target}'; the columns are {', '.join(header[:50])}", "target")
    if len(header) < 2:
        raise CsvError("the CSV needs at least one feature column besides the target")
    ti = header.index(target)
    return ti, [i for i in range(len(header)) if i != ti]


def _features(row: list[str], feats: list[int], header: list[str], line: int) -> list[float]:
    out = []
    for i in feats:
        v = _num(row[i].strip())
        if v is None:
            what = "is empty" if not row[i].strip() else f"has '{row[i][:40]}', not a finite number"
            raise CsvError(f"column '{header[i][:100]}' {what} at line {line}; feature columns must be numbers")
        out.append(v)
    return out


def _target(x: np.ndarray, labels: list[str], target: str, task: str):
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
    """Parse, then store under `name`, claimed once: concurrent uploads of one name give one
    dataset and NameTaken for the others, never a mix of their files.

    The claim is creating <name>.npz exclusively (O_EXCL: atomic, across processes too); the
    arrays go into it, then <name>.json (written to a unique temp file, then renamed) makes
    the dataset visible, complete."""
    x, y, meta = parse(raw, target, task)  # type: ignore[arg-type]
    folder = data_dir / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    meta |= {
        "name": name, "target": target, "filename": filename[:200], "rows": int(len(x)),
        "features": int(x.shape[1]), "created_at": datetime.now(timezone.utc).isoformat(),
    }
    try:
        fd = os.open(folder / f"{name}.npz", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise NameTaken(f"a dataset named '{name}' exists already") from None
    with os.fdopen(fd, "wb") as f:
        np.savez(f, x=x, y=y)
        f.flush()
        os.fsync(f.fileno())
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(json.dumps(meta).encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / f"{name}.json")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return meta


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


def _arrays(path: Path):
    # Not cached here: the Data made from them is, in data.load's byte-bounded cache.
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
        x, y = _arrays(path)
        if meta["task"] == "classification":
            order, n_train = stratified_order(y, p.val_fraction, p.seed)
        else:
            order = np.random.default_rng(p.seed).permutation(len(y))
            n_train = len(y) - max(1, int(round(len(y) * p.val_fraction)))
        yo = y[order] if meta["task"] == "classification" else y[order][:, None]
        return from_numpy(info(p), standardize(x[order], n_train), yo, n_train)

    doc = f"Uploaded CSV '{meta.get('filename', '')}': {meta['rows']} rows, target '{meta['target']}'."
    return DatasetKind(meta["name"], meta["name"], doc, SplitP, info, make, (meta["task"], "uploaded"),
                       count=lambda p: meta["rows"])
