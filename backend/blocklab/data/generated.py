"""Datasets generated from params: D2L's synthetic regression and the 2-D toy problems.

`n` is the number of training samples; `n_val` more are drawn from the same distribution
for validation (generated together, then split, so blobs share their centres).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field, model_validator

from blocklab.data.base import Data, DatasetKind, DatasetParams, Info, from_numpy

N = Field(1000, ge=4, le=1_000_000, description="training samples")
NVAL = Field(None, ge=1, le=1_000_000, description="validation samples (default: n // 4)")
SEED = Field(0, ge=0, le=2**31 - 1, description="seed of the data (the run's seed drives training)")


class _Gen(DatasetParams):
    n: int = N
    n_val: int | None = NVAL
    seed: int = SEED

    def val(self) -> int:
        return self.n_val if self.n_val is not None else max(1, self.n // 4)

    def count(self) -> int:
        return self.n + self.val()


# ---------------------------------------------------------------- synthetic regression
class RegressionP(_Gen):
    w: list[float] = Field([2.0, -3.4], min_length=1, max_length=10_000, description="true weights")
    b: float = Field(4.2, description="true bias")
    noise: float = Field(0.01, ge=0, le=1e6, description="std of the Gaussian noise on y")
    n_val: int | None = Field(None, ge=1, le=1_000_000, description="validation samples (default: n, as D2L)")

    def val(self) -> int:
        return self.n_val if self.n_val is not None else self.n

    @model_validator(mode="after")
    def _size(self):
        if (self.n + self.val()) * len(self.w) > 50_000_000:
            raise ValueError("(n + n_val) * len(w) is over 50M values")
        return self


def _regression(p: RegressionP) -> Data:
    # D2L 3.3: X ~ N(0, 1), y = Xw + b + N(0, noise); float64 draw, stored as float32.
    rng = np.random.default_rng(p.seed)
    total = p.n + p.val()
    x = rng.standard_normal((total, len(p.w)))
    y = x @ np.asarray(p.w) + p.b + rng.normal(0.0, p.noise, total)
    return from_numpy(_regression_info(p), x, y[:, None], p.n)


def _regression_info(p: RegressionP) -> Info:
    return Info("regression", (len(p.w),), (1,))


# ---------------------------------------------------------------- 2-D classification
class NoisyP(_Gen):
    noise: float = Field(0.1, ge=0, le=10, description="std of the Gaussian noise on each point")


class CirclesP(NoisyP):
    factor: float = Field(0.5, gt=0, lt=1, description="inner radius / outer radius")


class SpiralsP(NoisyP):
    classes: int = Field(2, ge=2, le=10, description="number of spiral arms (classes)")
    turns: float = Field(1.0, gt=0, le=5, description="turns of each arm")


def _two_d(n_classes: int):
    return lambda p: Info("classification", (2,), (), n_classes, [str(i) for i in range(n_classes)])


def _moons(p: NoisyP) -> Data:
    from sklearn import datasets as skd  # lazy: importing scikit-learn costs seconds
    x, y = skd.make_moons(p.n + p.val(), noise=p.noise, random_state=p.seed)
    return from_numpy(_two_d(2)(p), x, y, p.n)


def _circles(p: CirclesP) -> Data:
    from sklearn import datasets as skd  # lazy: importing scikit-learn costs seconds
    x, y = skd.make_circles(p.n + p.val(), noise=p.noise, factor=p.factor, random_state=p.seed)
    return from_numpy(_two_d(2)(p), x, y, p.n)


def _spirals(p: SpiralsP) -> Data:
    # Arm k: radius r in (0, 1], angle r * turns * 2pi + 2pi k / classes (+ noise, in radians * r).
    rng = np.random.default_rng(p.seed)
    total = p.n + p.val()
    y = rng.integers(0, p.classes, total)
    r = rng.uniform(0.05, 1.0, total)
    t = r * p.turns * 2 * math.pi + 2 * math.pi * y / p.classes
    x = np.stack([r * np.sin(t), r * np.cos(t)], axis=1) + rng.normal(0, p.noise * 0.2, (total, 2))
    return from_numpy(_two_d(p.classes)(p), x, y, p.n)


def _xor(p: NoisyP) -> Data:
    rng = np.random.default_rng(p.seed)
    total = p.n + p.val()
    x = rng.uniform(-1, 1, (total, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return from_numpy(_two_d(2)(p), x + rng.normal(0, p.noise, x.shape), y, p.n)


class BlobsP(_Gen):
    n_features: int = Field(2, ge=1, le=10_000)
    centers: int = Field(3, ge=2, le=1000, description="number of clusters (classes)")
    cluster_std: float = Field(1.0, gt=0, le=100)

    @model_validator(mode="after")
    def _size(self):
        if (self.n + self.val()) * self.n_features > 50_000_000:
            raise ValueError("n * n_features is over 50M values")
        return self


def _blobs_info(p: BlobsP) -> Info:
    return Info("classification", (p.n_features,), (), p.centers, [str(i) for i in range(p.centers)])


def _blobs(p: BlobsP) -> Data:
    from sklearn import datasets as skd  # lazy: importing scikit-learn costs seconds
    x, y = skd.make_blobs(p.n + p.val(), n_features=p.n_features, centers=p.centers,
                          cluster_std=p.cluster_std, random_state=p.seed)
    return from_numpy(_blobs_info(p), x, y, p.n)


def _count(p: _Gen) -> int:
    return p.count()


KINDS = [
    DatasetKind("synthetic_regression", "Synthetic linear regression",
                "D2L's y = Xw + b + N(0, noise^2), X ~ N(0, 1).", RegressionP, _regression_info, _regression,
                ("regression",), _count),
    DatasetKind("moons", "Two moons", "Two interleaving half circles (scikit-learn make_moons).",
                NoisyP, _two_d(2), _moons, ("classification", "2d"), _count),
    DatasetKind("circles", "Circles", "A small circle inside a large one (scikit-learn make_circles).",
                CirclesP, _two_d(2), _circles, ("classification", "2d"), _count),
    DatasetKind("spirals", "Spirals", "Interleaved spiral arms, one class per arm.",
                SpiralsP, lambda p: _two_d(p.classes)(p), _spirals, ("classification", "2d"), _count),
    DatasetKind("xor", "XOR", "Points in [-1, 1]^2, class = sign(x0 * x1) > 0.",
                NoisyP, _two_d(2), _xor, ("classification", "2d"), _count),
    DatasetKind("blobs", "Gaussian blobs", "Isotropic Gaussian clusters (scikit-learn make_blobs).",
                BlobsP, _blobs_info, _blobs, ("classification",), _count),
]
