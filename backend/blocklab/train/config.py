"""The training configuration of a run, as the REST API takes it (constraints live here).

The optimizer, loss and schedule types come from their registries (train/optimizers.py,
train/losses.py, train/schedules.py): one model per record, discriminated by `name`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from blocklab.train.losses import LOSSES
from blocklab.train.optimizers import OPTIMIZERS
from blocklab.train.schedules import SCHEDULES

LossName = LOSSES.names
# A plain name ("mse", as every body before loss params) or an object with params.
LossSpec = LOSSES.name_or_union


def OptimizerSpec(**fields: Any) -> BaseModel:  # noqa: N802  (reads like the model it builds)
    """One optimizer's validated settings, e.g. OptimizerSpec(name="sgd", lr=0.1); name defaults to adam."""
    return OPTIMIZERS.spec(**fields)


def ScheduleSpec(**fields: Any) -> BaseModel:  # noqa: N802
    """One schedule's validated settings, e.g. ScheduleSpec(name="step", step_size=3)."""
    return SCHEDULES.spec(**fields)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DatasetSpec(_Strict):
    name: str = Field(min_length=1, max_length=64)
    params: dict[str, JsonValue] = Field(default_factory=dict)


class TrainConfig(_Strict):
    dataset: DatasetSpec
    loss: LossSpec = Field(description='a loss name ("mse"), or an object with its name and params')
    optimizer: OPTIMIZERS.union = Field(default_factory=OPTIMIZERS.default_spec,
                                        description="an object without `name` is adam")
    schedule: SCHEDULES.union | None = Field(None, description="per-epoch learning-rate schedule; none: constant")
    epochs: int = Field(10, ge=0, le=100_000, description="0 evaluates the initial (or uploaded) weights only")
    batch_size: int = Field(32, ge=1, le=1_000_000)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    seed: int = Field(0, ge=0, le=2**63 - 1)
    stats_every: int | None = Field(
        None, ge=1, le=10_000_000,
        description="per-layer statistics every K steps; default: by time, every stats_interval seconds",
    )
    stats_interval: float = Field(0.2, ge=0.02, le=3600, description="seconds between statistics snapshots")
    report_interval: float = Field(0.1, ge=0.01, le=60, description="seconds between step messages")
    grid_interval: float = Field(1.0, ge=0.1, le=3600, description="seconds between decision-grid messages (2-D data)")
    grid_size: int = Field(48, ge=8, le=200)
    amp: Literal["off", "bf16"] = Field(
        "off", description="mixed precision: the forward and the loss autocast to bfloat16 (CUDA, or CPUs with bf16)")
    compile: bool = Field(False, description="torch.compile the model first (the first steps wait for the compiler)")
    num_workers: int = Field(
        1, ge=1, le=64,
        description="data-parallel workers (Ray Train, DDP; one GPU or one CPU each): needs the Ray runner; "
                    "batch_size is per worker, so the global batch is batch_size x num_workers",
    )


def dump(cfg: BaseModel) -> dict[str, Any]:
    return cfg.model_dump(mode="json")
