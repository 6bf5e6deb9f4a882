"""The loss registry. Each loss knows which task it fits, the output shape it needs, how to
shape the dataset's targets once before training, and how to read accuracy and class
probabilities from the model's raw outputs (logits)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from blocklab.data.base import Info, Shape
from blocklab.blocks.base import fmt


@dataclass(frozen=True)
class Loss:
    name: str
    doc: str
    task: str  # "regression" or "classification"
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # mean over the batch
    # Returns an error message when the model's output shape cannot be trained on this data.
    check: Callable[[Info, Shape], str | None]
    prepare: Callable[[torch.Tensor, Info, Shape], torch.Tensor] = lambda y, info, out: y
    # [B, *out] logits -> [B, C] class probabilities (classification only)
    proba: Callable[[torch.Tensor], torch.Tensor] | None = None


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


LOSSES: dict[str, Loss] = {
    l.name: l
    for l in [
        Loss("mse", "mean squared error (D2L's nn.MSELoss)", "regression", F.mse_loss, _same_shape),
        Loss("l1", "mean absolute error", "regression", F.l1_loss, _same_shape),
        Loss("huber", "Huber loss (delta 1): squared near 0, absolute far away", "regression", F.huber_loss, _same_shape),
        Loss("cross_entropy", "softmax cross-entropy on logits, targets are class indices", "classification",
             F.cross_entropy, _logits, proba=lambda z: torch.softmax(z, dim=1)),
        Loss("bce_with_logits", "binary cross-entropy on logits (sigmoid inside)", "classification",
             F.binary_cross_entropy_with_logits, _bce_check, _bce_target, _bce_proba),
    ]
}


def mismatch(loss: Loss, info: Info, out: Shape) -> str | None:
    """Why this loss cannot train this output on this dataset, or None."""
    if loss.task != info.task:
        fits = ", ".join(n for n, l in LOSSES.items() if l.task == info.task)
        return f"loss '{loss.name}' is for {loss.task}, but the dataset is {info.task}; use {fits}"
    return loss.check(info, out)
