"""Every stream message has a model (train/messages.py): real short trainings through
train/loop.py's `train`, and a run through the REST API, are validated message by message;
a message type without a model fails."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from pydantic import TypeAdapter

from blocklab.data import load
from blocklab.graph.analyze import Limits
from blocklab.graph.document import GraphDoc
from blocklab.runs.plan import RunCreate, prepare
from blocklab.runs.worker import build
from blocklab.train.loop import Job, train
from blocklab.train.messages import MESSAGES, TYPES, StreamMessage
from runs_fixtures import create, mlp, run_body, wait

ADAPTER = TypeAdapter(StreamMessage)


def check(messages: list[dict]) -> list[str]:
    """Validate each message against its model; returns the types in order."""
    for m in messages:
        assert m["type"] in TYPES, f"stream message type {m['type']!r} has no model in train/messages.py: {m}"
        ADAPTER.validate_python(m)  # extra="forbid": a field the model does not describe fails too
    return [m["type"] for m in messages]


def loop_messages(body: dict, tmp_path: Path) -> list[dict]:
    plan = prepare(RunCreate.model_validate(body), GraphDoc.model_validate(body["graph"]), Limits(), tmp_path)
    job = Job(build(plan), load(plan.kind, plan.dparams), plan.loss, plan.cfg, torch.device("cpu"), plan.out_shape)
    # As the hub does: number every message.
    return [{"seq": i, **m} for i, m in enumerate(train(job, lambda: False), start=1)]


def test_classification_run_messages(tmp_path):
    body = {"graph": mlp(2, 8, 2), "dataset": {"name": "moons", "params": {"n": 200}}, "loss": "cross_entropy",
            "epochs": 2, "batch_size": 16, "device": "cpu", "stats_every": 3, "report_interval": 0.01,
            "grid_interval": 0.1, "grid_size": 8}
    types = check(loop_messages(body, tmp_path))
    assert types[0] == "start" and types[-1] == "grid"
    assert {"start", "step", "stats", "activations", "grid", "epoch"} == set(types)


def test_regression_and_evaluate_only_messages(tmp_path):
    body = run_body("linear_regression", epochs=1, device="cpu", stats_every=50)
    msgs = loop_messages(body, tmp_path)
    assert {"start", "step", "stats", "activations", "epoch"} == set(check(msgs))
    assert "val_accuracy" not in next(m for m in msgs if m["type"] == "epoch")
    zero = loop_messages(body | {"epochs": 0}, tmp_path)
    assert check(zero) == ["start", "epoch"]


def test_a_field_the_model_lacks_fails():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"seq": 1, "type": "step", "step": 1, "epoch": 1, "loss": 0.5, "surprise": 1})
    with pytest.raises(AssertionError, match="has no model"):
        check([{"seq": 1, "type": "telemetry"}])


def test_api_run_stream_messages_and_openapi(client):
    run = wait(client, create(client, run_body("spirals_playground", epochs=1, device="cpu")))
    msgs = client.get(f"/api/runs/{run['id']}/metrics").json()
    types = check(msgs)
    assert types[:2] == ["status", "status"] and types[-1] == "status"
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert {m.__name__ for m in MESSAGES} <= set(schemas)
    items = doc["paths"]["/api/runs/{run_id}/metrics"]["get"]["responses"]["200"]["content"]["application/json"]
    assert items["schema"]["items"]["discriminator"]["propertyName"] == "type"
