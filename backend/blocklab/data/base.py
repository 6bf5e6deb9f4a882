"""What a dataset is: tensors split into train and validation, plus what the trainer needs to
know about them (task, shapes, classes). Each kind is defined once, as one `DatasetKind`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

Task = Literal["regression", "classification"]
Shape = tuple[int, ...]


class DatasetParams(BaseModel):
    """Base of every dataset's params: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


@dataclass(frozen=True)
class Info:
    """What is known from the params alone, without generating anything (for validation)."""

    task: Task
    input_shape: Shape
    target_shape: Shape  # () for class labels, (k,) for k regression targets
    n_classes: int | None = None
    classes: list[str] | None = None


@dataclass
class Data:
    """float32 inputs [N, *input_shape]; targets long [N] (classes) or float32 [N, k]."""

    info: Info
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor

    def to(self, device: torch.device) -> "Data":
        t = lambda v: v.to(device, non_blocking=True)  # noqa: E731
        return Data(self.info, t(self.x_train), t(self.y_train), t(self.x_val), t(self.y_val))


@dataclass(frozen=True)
class DatasetKind:
    name: str
    title: str
    doc: str
    params: type[DatasetParams]
    info: Callable[[Any], Info]
    make: Callable[[Any], Data]
    tags: tuple[str, ...] = field(default=())
    # Samples (train + validation) `make` generates for these params, known without making
    # them: bounds what a request may generate (None: a small fixed-size kind).
    count: Callable[[Any], int] | None = None


def from_numpy(info: Info, x: np.ndarray, y: np.ndarray, n_train: int) -> Data:
    """Split arrays (already shuffled) into the first n_train samples and the rest."""
    xt = torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32).reshape(len(x), *info.input_shape)
    if info.task == "classification":
        yt = torch.as_tensor(np.asarray(y), dtype=torch.long).reshape(-1)
    else:
        yt = torch.as_tensor(np.asarray(y), dtype=torch.float32).reshape(len(y), *info.target_shape)
    return Data(info, xt[:n_train].contiguous(), yt[:n_train].contiguous(), xt[n_train:].contiguous(), yt[n_train:].contiguous())


def stratified_order(y: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, int]:
    """A permutation putting a class-balanced training part first; returns (order, n_train)."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(len(idx) * val_fraction))
        val.append(idx[:k])
        train.append(idx[k:])
    tr, va = rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(val))
    return np.concatenate([tr, va]), len(tr)


def standardize(x: np.ndarray, n_train: int) -> np.ndarray:
    """Zero mean, unit variance per feature, using training statistics only."""
    mu = x[:n_train].mean(axis=0)
    sd = x[:n_train].std(axis=0)
    return (x - mu) / np.where(sd > 0, sd, 1.0)
