"""The validation metric registry: each metric is one record, summed over validation batches
and divided by the number of samples; its value is the epoch message's field `key`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

import torch

from blocklab.train.losses import Loss
from blocklab.train.registry import Record, Registry


@dataclass(frozen=True, kw_only=True)
class Metric(Record):
    key: str  # the epoch message's field
    task: Literal["regression", "classification"] | None  # None: every task
    better: Literal["lower", "higher"]
    # (outputs [B, *out], prepared targets, class labels [B] or None, loss) -> the batch's sum (a 0-d tensor)
    batch: Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None, Loss], torch.Tensor]

    def catalog(self) -> dict[str, Any]:
        return {"key": self.key, "task": self.task, "better": self.better}


METRICS: Registry[Metric] = Registry("metric", [
    Metric("loss", "the run's loss on the validation split", key="val_loss", task=None, better="lower",
           batch=lambda out, y, labels, loss: loss.fn(out, y).float() * len(y)),
    Metric("accuracy", "fraction of validation samples whose most probable class is their label",
           key="val_accuracy", task="classification", better="higher",
           batch=lambda out, y, labels, loss: (loss.proba(out).argmax(1) == labels).sum().float()),
])


def for_task(task: str) -> list[Metric]:
    return [m for m in METRICS.values() if m.task in (None, task)]
