"""Small real datasets shipped inside scikit-learn (read from the package, never downloaded)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pydantic import Field

from blocklab.data.base import Data, DatasetKind, DatasetParams, Info, from_numpy, standardize, stratified_order


class SplitP(DatasetParams):
    val_fraction: float = Field(0.2, gt=0, lt=1, description="share of samples held out for validation")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the split")


class DigitsP(SplitP):
    flatten: bool = Field(False, description="true: samples of shape [64]; false: images [1, 8, 8]")


@lru_cache(maxsize=None)
def _load(name: str):
    from sklearn import datasets as skd  # lazy: importing scikit-learn costs seconds

    b = getattr(skd, f"load_{name}")()
    return np.asarray(b.data, dtype=np.float64), np.asarray(b.target), [str(c) for c in b.target_names]


def _digits_info(p: DigitsP) -> Info:
    return Info("classification", (64,) if p.flatten else (1, 8, 8), (), 10, [str(i) for i in range(10)])


def _digits(p: DigitsP) -> Data:
    x, y, _ = _load("digits")
    order, n_train = stratified_order(y, p.val_fraction, p.seed)
    return from_numpy(_digits_info(p), x[order] / 16.0, y[order], n_train)  # pixels 0..16 -> [0, 1]


def _table(name: str, n_features: int, n_classes: int):
    def info(p: SplitP) -> Info:
        return Info("classification", (n_features,), (), n_classes, _load(name)[2])

    def make(p: SplitP) -> Data:
        x, y, _ = _load(name)
        order, n_train = stratified_order(y, p.val_fraction, p.seed)
        return from_numpy(info(p), standardize(x[order], n_train), y[order], n_train)

    return info, make


KINDS = [
    DatasetKind("digits", "Digits (8x8)", "scikit-learn's 1,797 handwritten digits, 8x8 pixels scaled to [0, 1].",
                DigitsP, _digits_info, _digits, ("classification", "image")),
    DatasetKind("iris", "Iris", "Fisher's 150 irises: 4 measurements, 3 species (standardized).",
                SplitP, *_table("iris", 4, 3), ("classification",)),
    DatasetKind("wine", "Wine", "178 wines: 13 chemical measurements, 3 cultivars (standardized).",
                SplitP, *_table("wine", 13, 3), ("classification",)),
]
