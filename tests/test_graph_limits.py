"""Designs that would allocate past the limits are refused before anything is allocated, and
the refusals stay small and name the nodes: constants, CustomLayer intermediates, cycles,
parameter limits (issue 12, items 1, 2, 4, 14)."""

from __future__ import annotations

import json

import pytest
import torch
from fastapi.testclient import TestClient
from torch.utils._python_dispatch import TorchDispatchMode

from graphs import chain
from blocklab.app import create_app
from blocklab.graph.analyze import Limits, analyze
from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from blocklab.graph.memory import training_bytes
from blocklab.graph.types import MAX_ERRORS, MAX_MESSAGE
from blocklab.settings import Settings

MiB = 1024**2


def const_layer(i: int, side: int = 4096) -> tuple:
    # A [side, side] constant that does nothing useful: 64 MiB each at 4096.
    return (f"c{i}", "CustomLayer", {"expr": "x + c.mean()", "constants": {"c": {"shape": [side, side], "init": "zeros"}}})


OUTER = "h = reshape(x, 1, -1)\ng = transpose(h, 0, 1) @ h\nx.sum(dim=1, keepdim=True) + g.mean()"  # g: [B*F, B*F]
LOOP = "while x.abs().sum() > 0:\n    x = tanh(x @ c)\nx.sum(dim=1, keepdim=True)"  # every round is kept for backward


def regression_run(graph: dict, features: int, batch_size: int) -> dict:
    return {"graph": graph, "dataset": {"name": "synthetic_regression", "params": {"w": [1.0] * features, "n": batch_size}},
            "loss": "mse", "optimizer": {"name": "sgd", "lr": 0.01}, "epochs": 1, "batch_size": batch_size}


@pytest.fixture
def small(tmp_path):
    """A server whose training memory limit is 64 MiB."""
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", max_train_bytes=64 * MiB))) as c:
        yield c


# ------------------------------------------------------------------ item 1: constants
def test_constants_count_against_the_parameter_limit_and_name_the_nodes(client):
    doc = chain([2], *(const_layer(i) for i in range(8)), ("out", "Linear", {"out_features": 1}))
    doc["nodes"][3]["params"]["constants"]["c"]["shape"] = [4096, 4095]  # one a little smaller
    rep = client.post("/api/graphs/validate", json=doc).json()
    assert not rep["ok"]
    err = next(e for e in rep["errors"] if "BLOCKLAB_MAX_PARAMS" in e["message"])
    assert err["node"] == "c0"  # the largest, first in the document among equals
    assert f"{7 * 4096 * 4096 + 4096 * 4095:,}" in err["message"]
    assert "'c0' 16,777,216" in err["message"] and "'c2'" not in err["message"]  # 6th of 8: not named
    assert rep["total_params"] == 3  # the Linear's weight and bias: constants are not parameters


def test_constants_refused_under_64_mib_at_validate_and_runs(small):
    doc = chain([2], *(const_layer(i) for i in range(3)), ("out", "Linear", {"out_features": 1}))  # 192 MiB
    rep = small.post("/api/graphs/validate", json=doc).json()
    assert not rep["ok"]
    err = next(e for e in rep["errors"] if "BLOCKLAB_MAX_TRAIN_BYTES" in e["message"])
    assert err["node"] == "c0" and "'c1' 128.0 MiB" in err["message"]  # held, and copied for statistics
    assert all(rep["nodes"][i]["output_shape"] == [2] for i in ("c0", "c1", "c2"))
    r = small.post("/api/runs", json=regression_run(doc, 2, 8))
    assert r.status_code == 422, r.text
    assert any(e["node"] == "c0" for e in r.json()["detail"]["errors"])
    assert small.post("/api/export/python", json=doc).status_code == 422


# ------------------------------------------------------------------ item 2: intermediates
def test_outer_product_intermediate_is_refused_at_its_batch_size(small):
    doc = chain([32], ("g", "CustomLayer", {"expr": OUTER}))
    assert small.post("/api/graphs/validate", json=doc).json()["ok"]  # fine at a batch of 1
    assert small.post("/api/runs", json=regression_run(doc, 32, 128)).status_code == 422  # g: [4096, 4096]


def test_loop_rounds_are_counted(small):
    doc = chain([256], ("loop", "CustomLayer", {"expr": LOOP, "max_iter": 1000,
                                                 "constants": {"c": {"shape": [256, 256], "init": "rand"}}}))
    r = small.post("/api/runs", json=regression_run(doc, 256, 64))  # 1,000 rounds x [64, 256] x 2
    assert r.status_code == 422, r.text


def test_a_design_that_fits_is_accepted(small):
    doc = chain([32], ("g", "CustomLayer", {"expr": OUTER}))
    r = small.post("/api/runs", json=regression_run(doc, 32, 8) | {"epochs": 0})  # g: [256, 256]
    assert r.status_code == 201, r.text


class _Made(TorchDispatchMode):
    """Counts the bytes of every new storage that the operations of a forward make."""

    def __init__(self):
        super().__init__()
        self.storages: dict[int, torch.UntypedStorage] = {}  # held, so no address is reused

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.storages.setdefault(t.untyped_storage().data_ptr(), t.untyped_storage())
        return out


@pytest.mark.parametrize("expr, consts, batch", [
    (OUTER, {}, 16),
    (LOOP, {"c": {"shape": [32, 32], "init": "rand"}}, 8),
    ("h = relu(x @ w)\nh * h", {"w": {"shape": [32, 64], "init": "randn"}}, 8),
])
def test_estimate_bounds_what_the_forward_makes(expr, consts, batch):
    doc = GraphDoc.model_validate(chain([32], ("c", "CustomLayer", {"expr": expr, "constants": consts, "max_iter": 50})))
    analysis = analyze(doc)
    assert analysis.ok, analysis.errors
    model = build(doc)
    x = torch.randn(batch, 32)
    own = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers(), x]}
    with _Made() as made:
        model(x)
    made_bytes = sum(s.nbytes() for p, s in made.storages.items() if p not in own)
    held = sum(p.numel() * 4 * 2 for p in model.parameters()) + sum(b.numel() * 4 for b in model.buffers())
    est = training_bytes(analysis.root, batch, 0)
    assert held + made_bytes <= est <= 4 * (held + made_bytes), (held, made_bytes, est)


# ------------------------------------------------------------------ item 4: cycles and error counts
def test_a_long_cycle_gives_a_small_capped_answer(client):
    n = 400
    doc = chain([4], ("add", "Add"), *((f"r{i}", "ReLU") for i in range(n)))
    doc["edges"] = ([{"source": "X", "target": "add", "target_port": "a"},
                     {"source": f"r{n - 1}", "target": "add", "target_port": "b"}, {"source": "add", "target": "r0"}]
                    + [{"source": f"r{i}", "target": f"r{i + 1}"} for i in range(n - 1)]
                    + [{"source": f"r{n - 1}", "target": "Y"}])
    r = client.post("/api/graphs/validate", json=doc)
    assert len(r.content) < 64_000  # the old answer listed every other node in each message: ~2 MB
    errors = r.json()["errors"]
    assert len(errors) == MAX_ERRORS
    assert errors[-1]["message"] == f"… and {n + 1 - (MAX_ERRORS - 1):,} more"
    first = errors[0]["message"]
    assert first.startswith("Add 'add' is part of a cycle ('add' → 'r0' → 'r1' → 'r2' → … → 'r399' → 'add' (401 nodes))")
    assert all(len(e["message"]) <= MAX_MESSAGE for e in errors)


def test_short_cycles_are_named_in_full():
    doc = chain([4], ("a", "ReLU"), ("b", "ReLU"))
    doc["edges"].append({"source": "b", "target": "a"})
    doc["nodes"][1]["type"] = "Add"
    doc["edges"][0]["target_port"] = "a"
    doc["edges"][-1]["target_port"] = "b"
    errs = analyze(GraphDoc.model_validate(doc)).report()["errors"]
    msgs = {e["node"]: e["message"] for e in errs if "cycle" in e["message"]}
    assert msgs == {"a": "Add 'a' is part of a cycle ('a' → 'b' → 'a'); a network must flow one way",
                    "b": "ReLU 'b' is part of a cycle ('a' → 'b' → 'a'); a network must flow one way"}


def test_many_errors_are_capped_with_a_count():
    doc = chain([4], *((f"l{i}", "Linear", {"out_features": -1}) for i in range(300)))
    rep = analyze(GraphDoc.model_validate(doc)).report()
    assert len(rep["errors"]) == MAX_ERRORS and rep["errors"][-1]["message"] == f"… and {300 - MAX_ERRORS + 1} more"


# ------------------------------------------------------------------ item 14: the parameter limit
def test_parameter_limit_names_the_nodes_and_keeps_the_shapes():
    doc = chain([100], ("small", "Linear", {"out_features": 10}), ("big", "Linear", {"out_features": 5000}),
                ("act", "ReLU"), ("huge", "Linear", {"out_features": 3000}))
    rep = analyze(GraphDoc.model_validate(doc), Limits(max_params=1_000_000)).report()
    assert not rep["ok"]
    (err,) = rep["errors"]
    assert err["node"] == "huge" and "BLOCKLAB_MAX_PARAMS" in err["message"]
    assert err["message"].index("'huge'") < err["message"].index("'big'") < err["message"].index("'small'")
    assert {k: v["output_shape"] for k, v in rep["nodes"].items()} == {
        "X": [100], "small": [10], "big": [5000], "act": [5000], "huge": [3000], "Y": [3000]}
    assert rep["total_params"] == 1010 + 55000 + 15003000


def test_parameter_limit_inside_a_block_names_the_instance(client):
    doc = {"nodes": [{"id": "X", "type": "Input", "params": {"shape": [1000]}}, {"id": "b", "type": "Big"},
                     {"id": "Y", "type": "Output"}],
           "edges": [{"source": "X", "target": "b"}, {"source": "b", "target": "Y"}],
           "blocks": {"Big": chain([1000], ("fc", "Linear", {"out_features": 200_000}))}}
    rep = client.post("/api/graphs/validate", json=doc).json()
    err = next(e for e in rep["errors"] if "BLOCKLAB_MAX_PARAMS" in e["message"])
    assert err["node"] == "b" and "'b.fc' 200,200,000" in err["message"]
    assert rep["nodes"]["b"]["inner"]["fc"]["output_shape"] == [200_000]
    assert json.dumps(rep)  # plain JSON all through


def test_traces_are_cached_by_code_and_shapes_not_by_inits():
    # Literal inits can make a layer's params megabytes long; they must not become cache keys.
    from blocklab.blocks import custom

    def layer(i: int, fill: float) -> tuple:
        return (f"c{i}", "CustomLayer", {"expr": "x @ c", "constants": {"c": {"init": [[fill] * 64] * 64}}})

    before = custom._traced.cache_info()
    analysis = analyze(GraphDoc.model_validate(chain([64], layer(0, 0.25), layer(1, 0.5), layer(2, 0.75))))
    assert analysis.ok, analysis.errors
    after = custom._traced.cache_info()
    assert after.misses - before.misses <= 1 and after.hits - before.hits >= 2
