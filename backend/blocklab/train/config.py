"""The training configuration of a run, as the REST API takes it (constraints live here)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

LossName = Literal["mse", "l1", "huber", "cross_entropy", "bce_with_logits"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DatasetSpec(_Strict):
    name: str = Field(min_length=1, max_length=64)
    params: dict[str, JsonValue] = Field(default_factory=dict)


class OptimizerSpec(_Strict):
    name: Literal["sgd", "adam", "adamw"] = "adam"
    lr: float = Field(0.001, gt=0, le=100)
    momentum: float = Field(0.0, ge=0, lt=1, description="sgd only")
    nesterov: bool = Field(False, description="sgd only; needs momentum > 0")
    weight_decay: float = Field(0.0, ge=0, le=10)
    betas: tuple[float, float] = Field((0.9, 0.999), description="adam/adamw only")
    eps: float = Field(1e-8, gt=0, le=1)

    @model_validator(mode="after")
    def _check(self):
        if self.nesterov and not self.momentum:
            raise ValueError("nesterov needs momentum > 0")
        if not all(0 <= b < 1 for b in self.betas):
            raise ValueError("betas must lie in [0, 1)")
        return self


class ScheduleSpec(_Strict):
    """Per-epoch learning-rate schedule: StepLR (lr * gamma^(epoch // step_size)) or cosine to min_lr."""

    name: Literal["step", "cosine"]
    step_size: int = Field(10, ge=1, le=1_000_000, description="step: epochs between decays")
    gamma: float = Field(0.1, gt=0, le=1, description="step: decay factor")
    min_lr: float = Field(0.0, ge=0, le=100, description="cosine: final lr")


class TrainConfig(_Strict):
    dataset: DatasetSpec
    loss: LossName
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    schedule: ScheduleSpec | None = None
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
    num_workers: int = Field(
        1, ge=1, le=64,
        description="data-parallel workers (Ray Train, DDP; one GPU or one CPU each): needs the Ray runner; "
                    "batch_size is per worker, so the global batch is batch_size x num_workers",
    )


def dump(cfg: BaseModel) -> dict[str, Any]:
    return cfg.model_dump(mode="json")
