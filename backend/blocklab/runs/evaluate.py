"""A run's checkpoint evaluated on its dataset's validation split: the confusion matrix and
per-class accuracy (classification), or predicted against true values (regression)."""

from __future__ import annotations

from pathlib import Path

import torch
from pydantic import ValidationError

from blocklab.data import UnknownDataset, get_kind, load
from blocklab.graph.build import model_class, source_for
from blocklab.graph.document import GraphDoc
from blocklab.runs import checkpoints
from blocklab.train.losses import resolve

BATCH = 4096


class EvalError(Exception):
    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


def _outputs(run: dict, data_dir: Path, which: str):
    try:  # read, never check-then-read: a run deleted in between is a 409, not a 500
        tensors = checkpoints.read(checkpoints.path(data_dir, run["id"], which))
    except FileNotFoundError:
        raise EvalError(f"run '{run['id']}' has no {which} checkpoint yet (status {run['status']})") from None
    spec = run["config"]["dataset"]
    try:
        kind = get_kind(spec["name"], data_dir)
        data = load(kind, kind.params.model_validate(spec.get("params", {})))
    except (UnknownDataset, ValidationError) as e:
        raise EvalError(f"the run's dataset '{spec['name']}' cannot be loaded any more: {e}"[:500]) from None
    model = model_class(source_for(GraphDoc.model_validate(run["graph"])))()
    model.load_state_dict(tensors, strict=True)
    model.eval()
    with torch.no_grad():  # [N, *out] in batches: the split may be large
        out = torch.cat([model(data.x_val[i:i + BATCH]) for i in range(0, len(data.x_val), BATCH)])
    return data, out


def evaluate(run: dict, data_dir: Path, which: str = "best", limit: int = 2000) -> dict:
    if which == "best" and not checkpoints.path(data_dir, run["id"], "best").exists():
        which = "last"  # a run without a finite val_loss has no best checkpoint
    data, out = _outputs(run, data_dir, which)
    info, y = data.info, data.y_val
    base = {"task": info.task, "which": which, "split": "val", "n": len(y)}
    if info.task == "classification":
        loss = resolve(run["config"]["loss"])  # a name or an object with params
        c = info.n_classes
        # [N]: logits past the classes (cross_entropy allows them) are never a label, so not a prediction.
        pred = loss.proba(out)[:, :c].argmax(1)
        # matrix[t][p]: samples of true class t predicted as p (rows true, columns predicted).
        m = torch.bincount(y * c + pred, minlength=c * c).reshape(c, c)
        support, correct, predicted = m.sum(1), m.diag(), m.sum(0)
        names = info.classes or [str(i) for i in range(c)]
        per_class = [{"class": names[i], "support": int(support[i]), "correct": int(correct[i]),
                      "accuracy": float(correct[i] / support[i]) if support[i] else None,
                      "precision": float(correct[i] / predicted[i]) if predicted[i] else None} for i in range(c)]
        return base | {"classes": names, "matrix": m.tolist(), "per_class": per_class,
                       "accuracy": float(correct.sum() / max(1, len(y)))}
    true, got = y.reshape(len(y), -1).double(), out.reshape(len(out), -1).double()  # [N, k]
    err = got - true
    var = ((true - true.mean(0)) ** 2).sum(0)
    r2 = [float(1 - e / v) if v > 0 else None for e, v in zip((err ** 2).sum(0), var)]
    step = max(1, len(y) // limit)  # an even spread for the scatter plot
    return base | {"targets": true.shape[1], "true": true[::step][:limit].tolist(),
                   "predicted": got[::step][:limit].tolist(), "mse": float((err ** 2).mean()),
                   "mae": float(err.abs().mean()), "r2": r2}
