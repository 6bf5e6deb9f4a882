"""The loss registry. Each loss is one record: its params, which task it fits, the output
shape it needs, how to shape the dataset's targets once before training, and how to read
class probabilities from the model's raw outputs (logits).

A run body names a loss as a plain string ("mse") or as an object with its params
({"name": "huber", "delta": 0.5}); `LOSSES.record(value)` reads either, and `bind` gives the
loss the loop calls, its params applied."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Annotated, Any, Callable, Literal

import torch
import torch.nn.functional as F

from pydantic import Field

from blocklab.blocks.base import fmt
from blocklab.data.base import Info, Shape
from blocklab.train.registry import Params, Record, Registry, settings


@dataclass(frozen=True, kw_only=True)
class Loss(Record):
    task: Literal["regression", "classification"]
    # (output, target, **params) -> the mean over the batch; bind() applies the params
    fn: Callable[..., torch.Tensor]
    # Returns an error message when the model's output shape cannot be trained on this data.
    check: Callable[[Info, Shape], str | None]
    prepare: Callable[[torch.Tensor, Info, Shape], torch.Tensor] = lambda y, info, out: y
    # [B, *out] logits -> [B, C] class probabilities (classification only)
    proba: Callable[[torch.Tensor], torch.Tensor] | None = None
    usual: bool = False  # the loss to use for its task when none is asked for

    def catalog(self) -> dict[str, Any]:
        return {"task": self.task, "usual": self.usual}

    def bind(self, spec: Params) -> "Loss":
        """This loss with the spec's params applied to fn (itself when it has none)."""
        kw = settings(spec)
        return replace(self, fn=partial(self.fn, **kw)) if kw else self


def _same_shape(info: Info, out: Shape) -> str | None:
    if out != info.target_shape:
        return f"the model outputs {fmt(out)} per sample but the targets have shape {fmt(info.target_shape)}"
    return None


def _logits(info: Info, out: Shape) -> str | None:
    if len(out) != 1 or out[0] < (info.n_classes or 0):
        return f"cross_entropy needs one logit per class: output [{info.n_classes}], but the model outputs {fmt(out)}"
    return None


def _bce_check(info: Info, out: Shape) -> str | None:
    if out == (1,) and info.n_classes == 2:
        return None
    if out == (info.n_classes,):
        return None
    want = "[1] (two classes)" if info.n_classes == 2 else f"[{info.n_classes}] (one logit per class)"
    return f"bce_with_logits needs output {want}, but the model outputs {fmt(out)}"


def _bce_target(y: torch.Tensor, info: Info, out: Shape) -> torch.Tensor:
    # Class labels [N] -> float [N, 1] for a single logit, one-hot [N, C] otherwise.
    return y.float().unsqueeze(1) if out == (1,) else F.one_hot(y, out[0]).float()


def _bce_proba(z: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(z)
    return torch.cat([1 - p, p], dim=1) if z.shape[1] == 1 else p / p.sum(1, keepdim=True).clamp_min(1e-12)


class HuberParams(Params):
    delta: Annotated[float, Field(gt=0, le=1e6, description="where the loss turns from squared to absolute")] = 1.0


# The regression losses' output and target shapes are equal by their check, so the kernels
# are called without F.mse_loss's broadcasting checks (~10 us a step, much of a small model's
# step). The registry test holds them to torch's nn modules.
_MEAN = 1  # torch's reduction enum for "mean"


def _mse(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch._C._nn.mse_loss(out, target, _MEAN)


def _l1(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch._C._nn.l1_loss(out, target, _MEAN)


LOSSES: Registry[Loss] = Registry("loss", [
    Loss("mse", "mean squared error (D2L's nn.MSELoss)", task="regression", fn=_mse, check=_same_shape, usual=True),
    Loss("l1", "mean absolute error", task="regression", fn=_l1, check=_same_shape),
    Loss("huber", "Huber loss: squared within delta of the target, absolute beyond", HuberParams,
         task="regression", fn=F.huber_loss, check=_same_shape),
    Loss("cross_entropy", "softmax cross-entropy on logits, targets are class indices", task="classification",
         fn=F.cross_entropy, check=_logits, proba=lambda z: torch.softmax(z, dim=1), usual=True),
    Loss("bce_with_logits", "binary cross-entropy on logits (sigmoid inside)", task="classification",
         fn=F.binary_cross_entropy_with_logits, check=_bce_check, prepare=_bce_target, proba=_bce_proba),
])


def usual(task: str) -> Loss:
    """The loss to use for a task when none is asked for."""
    return next(l for l in LOSSES.values() if l.task == task and l.usual)


def resolve(value: Any) -> Loss:
    """The loss the loop calls, from a body's loss (a name or an object with params)."""
    record, spec = LOSSES.record(value)
    return record.bind(spec)


def mismatch(loss: Loss, info: Info, out: Shape) -> str | None:
    """Why this loss cannot train this output on this dataset, or None."""
    if loss.task != info.task:
        fits = ", ".join(n for n, l in LOSSES.items() if l.task == info.task)
        return f"loss '{loss.name}' is for {loss.task}, but the dataset is {info.task}; use {fits}"
    return loss.check(info, out)
