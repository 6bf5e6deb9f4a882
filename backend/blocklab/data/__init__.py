"""The dataset registry: built-in kinds plus CSVs uploaded into the data dir.

`resolve` turns a {name, params} spec into (kind, validated params); `load` generates the
tensors (cached: the same spec gives the same tensors, so a warm server starts runs at once).
"""

from __future__ import annotations

import json
from functools import lru_cache
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


def load(kind: DatasetKind, params: Any) -> Data:
    return _cached(kind, params.model_dump_json())


@lru_cache(maxsize=8)
def _cached(kind: DatasetKind, params_json: str) -> Data:
    return kind.make(kind.params.model_validate(json.loads(params_json)))


__all__ = ["BUILTIN", "Data", "DatasetKind", "Info", "UnknownDataset", "all_kinds", "get_kind", "load"]
