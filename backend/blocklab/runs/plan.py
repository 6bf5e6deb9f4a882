"""POST /api/runs body -> a checked Plan, or every problem at once (each naming its field).

Checks, in order: the graph (via graph.analyze), the dataset and its params, the graph's
Input and Output shapes against the dataset and the loss, the device, the initial weights.
Nothing here trains or generates data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable
from pathlib import Path

import torch
from pydantic import Field, ValidationError, model_validator

from blocklab.blocks.base import fmt
from blocklab.data import DatasetKind, Info, UnknownDataset, data_bytes, get_kind
from blocklab.graph.analyze import Limits, analyze
from blocklab.graph.document import GraphDoc
from blocklab.graph import memory
from blocklab.graph.codegen import generate
from blocklab.runs import weights
from blocklab.train.config import TrainConfig
from blocklab.train.losses import Loss, mismatch, resolve
from blocklab.train.optimizers import OPTIMIZERS


class RunCreate(TrainConfig):
    graph: GraphDoc | None = Field(None, description="the design to train (or graph_id)")
    graph_id: str | None = Field(
        None, max_length=64,
        description="a saved design's id: trains it, or, given with `graph`, links the run to that design "
                    "(run history per design) while training the graph sent")
    name: str | None = Field(None, max_length=200)
    init_weights: str | None = Field(
        None, max_length=64, description="id from POST /api/weights: start from these weights instead of a fresh init")

    @model_validator(mode="after")
    def _one_graph(self):
        if self.graph is None and self.graph_id is None:
            raise ValueError("give graph or graph_id")
        return self


class PlanError(Exception):
    def __init__(self, message: str, errors: list[dict]):
        super().__init__(message)
        self.message, self.errors = message, errors


@dataclass
class Plan:
    doc: GraphDoc
    cfg: TrainConfig
    kind: DatasetKind
    dparams: object
    info: Info
    loss: Loss
    out_shape: tuple[int, ...]
    device: str
    init: dict[str, torch.Tensor] | None
    name: str
    # Carried from the one analysis of the design, so no worker analyses it again:
    source: str | None = None  # the generated PyTorch source (codegen) the worker builds from
    train_bytes: int | None = None  # the training-memory estimate (caps a local worker's memory)


def _err(field: str | None, message: str, node: str | None = None) -> dict:
    return {"node": node, "field": field, "message": message}


def prepare(body: RunCreate, doc: GraphDoc, limits: Limits, data_dir: Path,
            has_cuda: Callable[[], bool] = torch.cuda.is_available) -> Plan:
    """`has_cuda` asks whoever trains (this process, or a Ray cluster's nodes) for a GPU."""
    analysis = analyze(doc, limits)
    if not analysis.ok:
        raise PlanError("the graph is invalid", [e.to_json() for e in analysis.errors if e.severity == "error"])
    root = analysis.root
    errors: list[dict] = []

    if len(root.inputs) != 1:
        errors.append(_err("graph", f"training needs exactly one Input node; the design has {len(root.inputs)}"))
    if len(root.outputs) != 1:
        errors.append(_err("graph", f"training needs exactly one Output node; the design has {len(root.outputs)}"))

    kind = params = info = None
    try:
        kind = get_kind(body.dataset.name, data_dir)
    except UnknownDataset as e:
        errors.append(_err("dataset.name", str(e)))
    if kind is not None:
        try:
            params = kind.params.model_validate(body.dataset.params)
            info = kind.info(params)
        except ValidationError as e:
            for d in e.errors():
                loc = ".".join(str(x) for x in d["loc"])
                field = "dataset.params" + (f".{loc}" if loc else "")
                errors.append(_err(field, f"dataset '{kind.name}': {field}: {d['msg']}"))

    loss = resolve(body.loss)
    out_shape: tuple[int, ...] = ()
    if info is not None and len(root.inputs) == 1 and len(root.outputs) == 1:
        x = root.nodes[root.inputs[0]]
        if tuple(x.shape) != info.input_shape:
            flat = math.prod(x.shape) == math.prod(info.input_shape)
            hint = " (set the dataset's params.flatten)" if kind.name == "digits" and flat else ""
            errors.append(_err("shape", f"Input '{x.id}' has shape {fmt(x.shape)}, but dataset '{kind.name}' gives "
                                        f"samples of shape {fmt(info.input_shape)}{hint}", x.id))
        out = root.nodes[root.outputs[0]]
        out_shape = tuple(out.shape)
        why = mismatch(loss, info, out_shape)
        if why:
            errors.append(_err("loss", f"Output '{out.id}': {why}", out.id))

    optimizer, spec = OPTIMIZERS.record(body.optimizer)
    too_big = memory.training_error(root, body.batch_size, optimizer.states(spec), limits.max_train_bytes)
    if too_big is not None:
        errors.append(too_big.to_json())
    held = data_bytes(kind, params) if info is not None else 0  # the worker holds the whole dataset too
    if held > limits.max_train_bytes:
        errors.append(_err("dataset.params", f"dataset '{kind.name}' with these params holds about "
                                             f"{memory.fmt_bytes(held)}; the limit is "
                                             f"{memory.fmt_bytes(limits.max_train_bytes)} (BLOCKLAB_MAX_TRAIN_BYTES)"))

    device = body.device
    if device == "cuda" and not has_cuda():
        errors.append(_err("device", "device 'cuda' was asked for, but this server has no CUDA GPU; use 'auto' or 'cpu'"))
    elif device == "auto":
        device = "cuda" if has_cuda() else "cpu"

    init = None
    if body.init_weights is not None and not errors:
        tensors = weights.load(data_dir, body.init_weights)
        if tensors is None:
            errors.append(_err("init_weights", f"no uploaded weights with id '{body.init_weights}'"))
        else:
            try:
                init = weights.check(tensors, weights.expected(doc))
            except weights.WeightsError as e:
                errors += [_err("init_weights", f"the uploaded weights do not fit this design: {m}") for m in e.errors]

    if errors:
        raise PlanError("the run configuration is invalid", errors)
    cfg = TrainConfig.model_validate(body.model_dump(include=set(TrainConfig.model_fields)))
    return Plan(doc, cfg, kind, params, info, loss, out_shape, device, init, body.name or doc.name,
                generate(analysis, doc.name), memory.training_bytes(root, body.batch_size, optimizer.states(spec)))
