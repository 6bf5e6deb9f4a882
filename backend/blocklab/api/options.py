"""GET /api/options: the training-options catalog (optimizers, losses, schedules, metrics),
straight from their registries. The settings form draws each option's params with the same
schema form as block params, and takes every default from `params_schema`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from blocklab.train.losses import LOSSES
from blocklab.train.metrics import METRICS
from blocklab.train.optimizers import OPTIMIZERS
from blocklab.train.schedules import SCHEDULES

router = APIRouter(tags=["catalog"])
Task = Literal["regression", "classification"]


class Option(BaseModel):
    name: str
    doc: str
    params_schema: dict[str, Any] = Field(description="JSON schema of the params (fields marked deprecated are "
                                                      "accepted for older bodies and ignored)")
    default: bool = Field(description="the one a run body gets when it leaves this setting out")


class LossOption(Option):
    task: Task = Field(description="the dataset task this loss trains")
    usual: bool = Field(description="the loss to preselect for its task")


class MetricOption(Option):
    key: str = Field(description="the epoch message's field holding it")
    task: Task | None = Field(description="the task it is reported for; null: every task")
    better: Literal["lower", "higher"]


class Options(BaseModel):
    optimizers: list[Option]
    losses: list[LossOption]
    schedules: list[Option]
    metrics: list[MetricOption]


@router.get("/options", response_model=Options)
def list_options() -> Options:
    return Options(optimizers=OPTIMIZERS.catalog(), losses=LOSSES.catalog(), schedules=SCHEDULES.catalog(),
                   metrics=METRICS.catalog())
