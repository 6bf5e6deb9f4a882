"""Inference through the REST API: a run's saved weights applied to a JSON batch."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import torch
from pydantic import BaseModel, Field, JsonValue

from blocklab.blocks import REGISTRY
from blocklab.data import UnknownDataset, get_kind
from blocklab.graph import memory
from blocklab.graph.analyze import analyze
from blocklab.graph.build import model_class
from blocklab.graph.codegen import generate
from blocklab.graph.types import Scope
from blocklab.graph.document import GraphDoc
from blocklab.runs import checkpoints
from blocklab.train.losses import resolve

MAX_VALUES = 10_000_000


class PredictIn(BaseModel):
    inputs: list[JsonValue] = Field(min_length=1, max_length=100_000, description="a batch: one nested list per sample")
    which: str = Field("last", pattern="^(last|best)$", description="which checkpoint to use")


class PredictError(ValueError):
    def __init__(self, field: str, message: str, status: int = 422):
        super().__init__(message)
        self.field, self.status = field, status


_cache: OrderedDict[tuple, tuple[torch.nn.Module, Scope]] = OrderedDict()
_lock = threading.Lock()


def _model(run: dict, path: Path) -> tuple[torch.nn.Module, Scope]:
    """The run's model with its checkpoint loaded, and the design's analysed root (both cached)."""
    key = (run["id"], str(path), path.stat().st_mtime_ns)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    doc = GraphDoc.model_validate(run["graph"])
    analysis = analyze(doc)
    if not analysis.ok:  # it trained, so it validated: only a changed registry gets here
        raise PredictError("graph", "this run's design no longer validates: " + "; ".join(
            e.message for e in analysis.errors[:3]), 409)
    state = checkpoints.read(path)
    model = model_class(generate(analysis, doc.name))()
    model.load_state_dict(state, strict=True)
    model.eval()
    with _lock:
        _cache[key] = model, analysis.root
        while len(_cache) > 8:
            _cache.popitem(last=False)
    return model, analysis.root


def _role(type_name: str) -> str | None:
    kind = REGISTRY.get(type_name)  # None: a composite block instance
    return kind.role if kind is not None else None


def predict(run: dict, data_dir: Path, body: PredictIn, max_bytes: int = 8 * 2**30) -> dict:
    """`max_bytes`: the memory a forward of this batch may take (BLOCKLAB_MAX_TRAIN_BYTES)."""
    path = checkpoints.path(data_dir, run["id"], body.which)
    try:  # no exists-check first: a run deleted in between must not become a 500
        model, root = _model(run, path)
    except FileNotFoundError:
        raise PredictError("which", f"run '{run['id']}' has no {body.which} checkpoint yet (status {run['status']})",
                           409) from None
    want = tuple(next(n for n in run["graph"]["nodes"] if _role(n["type"]) == "input")["params"]["shape"])
    try:
        x = torch.tensor(body.inputs, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        raise PredictError("inputs", "inputs must be a list of samples, each a (nested) list of numbers "
                                     "of the same shape") from None
    if tuple(x.shape[1:]) != want:
        raise PredictError("inputs", f"each sample must have shape {list(want)}; got a batch of shape {list(x.shape)}")
    if x.numel() > MAX_VALUES:
        raise PredictError("inputs", f"the batch holds {x.numel():,} values; the limit is {MAX_VALUES:,}")
    if not bool(torch.isfinite(x).all()):
        raise PredictError("inputs", "inputs must be finite numbers")
    too_big = memory.inference_error(root, len(x), max_bytes)
    if too_big is not None:
        raise PredictError("inputs", too_big.message)
    with torch.no_grad():
        out = model(x)
    result: dict = {"outputs": out.tolist()}
    loss = resolve(run["config"]["loss"])
    if loss.proba is not None:
        p = loss.proba(out)
        result["probabilities"] = p.tolist()
        result["predicted"] = p.argmax(1).tolist()
        try:
            ds = run["config"]["dataset"]
            kind = get_kind(ds["name"], data_dir)
            classes = kind.info(kind.params.model_validate(ds.get("params", {}))).classes
            if classes:
                result["labels"] = [classes[i] if i < len(classes) else str(i) for i in result["predicted"]]
        except (UnknownDataset, ValueError):
            pass
    return result
