"""The dataset registry: built-in kinds plus CSVs uploaded into the data dir.

`get_kind` finds a kind by name; `load` generates the tensors (cached: the same spec gives
the same tensors, so a warm server starts runs at once). The cache is bounded in bytes
(BLOCKLAB_DATA_CACHE_BYTES), and one dataset is generated at a time, so requests for large
data cannot stack their generation memory.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from blocklab.data import bundled, csv_upload, generated, image_sets, image_upload
from blocklab.data.base import Data, DatasetKind, Info

BUILTIN: dict[str, DatasetKind] = {k.name: k for k in [*generated.KINDS, *bundled.KINDS, *image_sets.KINDS]}
# Uploaded datasets: <data dir>/datasets/<name>.json names the format that made it (CSV by default).
UPLOADED = {"csv": csv_upload.kind, image_upload.FORMAT: image_upload.kind}


def _uploaded(data_dir: Path, meta: dict) -> DatasetKind:
    return UPLOADED[meta.get("format", "csv")](data_dir, meta)


class UnknownDataset(LookupError):
    pass


def all_kinds(data_dir: Path) -> list[DatasetKind]:
    uploaded = [_uploaded(data_dir, m) for n, m in csv_upload.stored(data_dir).items() if n not in BUILTIN]
    return [*BUILTIN.values(), *uploaded]


def get_kind(name: str, data_dir: Path) -> DatasetKind:
    if name in BUILTIN:
        return BUILTIN[name]
    meta = csv_upload.stored(data_dir).get(name) if csv_upload.NAME_RE.match(name) else None
    if meta is None:
        known = ", ".join(k.name for k in all_kinds(data_dir))
        raise UnknownDataset(f"unknown dataset '{name}'; the datasets are {known}")
    return _uploaded(data_dir, meta)


def data_bytes(kind: DatasetKind, params: Any) -> int:
    """Bytes the tensors of `kind` with `params` will hold (float32 inputs, 8-byte targets),
    from the params alone; 0 for a small fixed-size kind that cannot say."""
    if kind.count is None:
        return 0
    info = kind.info(params)
    return kind.count(params) * (4 * math.prod(info.input_shape) + 8 * max(1, math.prod(info.target_shape)))


CACHE_BYTES = int(os.environ.get("BLOCKLAB_DATA_CACHE_BYTES", 256 * 1024**2))
_cache: OrderedDict[tuple, tuple[Data, int]] = OrderedDict()
_cache_lock = threading.Lock()
_make_lock = threading.Lock()  # one generation at a time: its peak memory is one dataset's


def load(kind: DatasetKind, params: Any) -> Data:
    key = (kind, params.model_dump_json())
    if (hit := _hit(key)) is not None:
        return hit
    with _make_lock:
        if (hit := _hit(key)) is not None:  # made while this thread waited
            return hit
        data = kind.make(kind.params.model_validate(json.loads(key[1])))
        _remember(key, data)
    return data


def _hit(key: tuple) -> Data | None:
    with _cache_lock:
        if key not in _cache:
            return None
        _cache.move_to_end(key)
        return _cache[key][0]


def _remember(key: tuple, data: Data) -> None:
    size = sum(t.element_size() * t.nelement() for t in (data.x_train, data.y_train, data.x_val, data.y_val))
    if size > CACHE_BYTES:  # larger than the whole cache: used once, never kept
        return
    with _cache_lock:
        _cache[key] = (data, size)
        total = sum(s for _, s in _cache.values())
        while total > CACHE_BYTES:
            _, (_, s) = _cache.popitem(last=False)
            total -= s


def cached_bytes() -> int:
    with _cache_lock:
        return sum(s for _, s in _cache.values())


__all__ = ["BUILTIN", "Data", "DatasetKind", "Info", "UnknownDataset", "all_kinds", "data_bytes", "get_kind", "load"]
