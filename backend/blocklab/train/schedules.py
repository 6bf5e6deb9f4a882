"""The learning-rate schedule registry: each schedule is one record, a per-epoch rule
lr(spec, base lr, epoch (0-based), epochs) as torch's lr_scheduler gives it (tested against it)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Callable

from pydantic import Field

from blocklab.train.registry import Params, Record, Registry, ignored

StepSize = Annotated[int, Field(ge=1, le=1_000_000, description="epochs between decays")]
Gamma = Annotated[float, Field(gt=0, le=1, description="decay factor")]
MinLr = Annotated[float, Field(ge=0, le=100, description="the final learning rate")]


@dataclass(frozen=True, kw_only=True)
class Schedule(Record):
    lr: Callable[[Any, float, int, int], float]


class StepParams(Params):
    step_size: StepSize = 10
    gamma: Gamma = 0.1
    min_lr: MinLr = ignored(0.0, "a cosine setting")


class CosineParams(Params):
    min_lr: MinLr = 0.0
    step_size: StepSize = ignored(10, "a step setting")
    gamma: Gamma = ignored(0.1, "a step setting")


def _cosine(s: CosineParams, base: float, epoch: int, epochs: int) -> float:
    t = max(1, epochs)
    return s.min_lr + (base - s.min_lr) * (1 + math.cos(math.pi * min(epoch, t) / t)) / 2


SCHEDULES: Registry[Schedule] = Registry("schedule", [
    Schedule("step", "StepLR: lr x gamma every step_size epochs", StepParams,
             lr=lambda s, base, epoch, epochs: base * s.gamma ** (epoch // s.step_size)),
    Schedule("cosine", "CosineAnnealingLR: from lr down to min_lr over the run's epochs", CosineParams, lr=_cosine),
])


def lr_at(spec, base: float, epoch: int, epochs: int) -> float:
    """The learning rate for epoch `epoch` (0-based); `spec` None keeps it constant."""
    if spec is None:
        return base
    record, spec = SCHEDULES.record(spec)
    return record.lr(spec, base, epoch, epochs)
