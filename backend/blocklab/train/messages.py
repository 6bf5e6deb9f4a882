"""The run stream's messages, one model each, discriminated by `type` (CONTRACT section 3,
docs/contract-additions.md section 3). They describe the plain dicts that train/loop.py yields
and runs/ publishes (`seq` is added by the stream); nothing builds them on the hot path.
Non-finite numbers are sent as null, hence `float | None`. The epoch message has one field
per validation metric (train/metrics.py)."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from blocklab.train.metrics import METRICS

Num = float | None  # null where the value was NaN or infinite


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seq: int = Field(ge=1, description="increasing within the run, from 1; resume with ?after=<seq>")


class StatusMessage(_Message):
    """A change of run status; a finished run's last message is one of these."""

    type: Literal["status"]
    status: Literal["queued", "running", "completed", "failed", "stopped", "interrupted"]
    error: str | None = Field(None, description="why the run failed (or was interrupted)")


class StartMessage(_Message):
    """Once, after status running and before the first step: what a progress bar needs."""

    type: Literal["start"]
    epochs: int
    steps_per_epoch: int
    batch_size: int = Field(description="per worker")
    n_train: int
    n_val: int
    num_workers: int | None = Field(None, description="only for data-parallel runs (more than one worker)")


class StepMessage(_Message):
    """Training progress, about every report_interval seconds: the last step's loss."""

    type: Literal["step"]
    step: int
    epoch: int
    loss: Num


class _EpochBase(_Message):
    type: Literal["epoch"]
    epoch: int = Field(description="1-based; 0 for the evaluation of an epochs: 0 run")
    step: int
    lr: float | None = Field(None, description="the epoch's learning rate (absent for epochs: 0)")
    train_loss: Num = Field(description="mean over the epoch's steps (null for epochs: 0)")


# One field per metric: required when every task reports it, else absent where it does not apply.
EpochMessage = create_model(
    "EpochMessage", __base__=_EpochBase, __doc__="The end of an epoch: training and validation metrics.",
    **{m.key: (Num, Field(... if m.task is None else None, description=f"{m.name}: {m.doc}"
                          + ("" if m.task is None else f" ({m.task} only)")))
       for m in METRICS.values()},
)


class Histogram(BaseModel):
    model_config = ConfigDict(extra="forbid")
    edges: list[Num] = Field(description="25 bin edges over [min, max]")
    counts: list[int] = Field(description="24 counts (of a strided sample of large tensors)")


class LayerStats(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="the parameter's state_dict key")
    shape: list[int]
    mean: Num
    std: Num
    min: Num
    max: Num
    grad_norm: Num
    update_ratio: Num = Field(description="||w after - w before|| / ||w after|| over the step")
    nonfinite: int = Field(description="NaN and infinite values in the tensor")
    hist: Histogram


class StatsMessage(_Message):
    """Per-parameter statistics, every stats_every steps or stats_interval seconds."""

    type: Literal["stats"]
    step: int
    layers: list[LayerStats]


class NodeActivation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    node: str
    mean: Num
    std: Num
    dead_fraction: float | None = Field(None, description="ReLU-like nodes only: units <= 0 for the whole probe batch")


class ActivationsMessage(_Message):
    """Each node's output statistics on a small probe batch (sent with stats)."""

    type: Literal["activations"]
    step: int
    nodes: list[NodeActivation]


class GridMessage(_Message):
    """2-D classification: class probabilities on a size x size grid, row i along y."""

    type: Literal["grid"]
    step: int
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    size: int
    values: list[list[Num]] = Field(description="P(class 1) for two classes, else P(predicted class)")
    classes: list[list[int]] = Field(description="the predicted class per grid point")


MESSAGES: tuple[type[_Message], ...] = (StatusMessage, StartMessage, StepMessage, EpochMessage, StatsMessage,
                                        ActivationsMessage, GridMessage)
StreamMessage = Annotated[Union[MESSAGES], Field(discriminator="type")]  # type: ignore[valid-type]
TYPES = {m.model_fields["type"].annotation.__args__[0]: m for m in MESSAGES}
