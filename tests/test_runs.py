"""Runs through the REST API: D2L linear regression, repeatability, failures, stop, limits."""

from __future__ import annotations

import json
import math

import pytest
import torch

from runs_fixtures import create, long_run, run_body, wait
from blocklab.data import BUILTIN, load
from blocklab.train.config import OptimizerSpec, ScheduleSpec
from blocklab.train.optimizers import FastSGD, lr_at


def test_d2l_linear_regression_recovers_w_and_b(client):
    # D2L 3.5: w = [2, -3.4], b = 4.2, 1,000 samples, batch 10, SGD lr 0.03, 3 epochs, init N(0, 0.01).
    body = run_body("linear_regression")
    assert body["dataset"]["params"]["n"] == 1000 and body["batch_size"] == 10 and body["epochs"] == 3
    rid = create(client, body)
    run = wait(client, rid)
    assert run["status"] == "completed", run
    assert run["metrics"]["steps"] == 300
    sd = client.get(f"/api/runs/{rid}/state_dict?format=safetensors")
    from safetensors.torch import load as st_load

    w = st_load(sd.content)
    assert torch.allclose(w["net.weight"], torch.tensor([[2.0, -3.4]]), atol=0.05)
    assert abs(w["net.bias"].item() - 4.2) < 0.05
    epochs = client.get(f"/api/runs/{rid}/metrics?type=epoch").json()
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert epochs[-1]["val_loss"] < 1e-3 and "val_accuracy" not in epochs[-1]


def test_same_seed_same_loss_curve(client):
    body = run_body("spirals_playground", epochs=3, report_interval=0.01, stats_every=5)
    curves, points = [], []
    for _ in range(2):
        rid = create(client, body)
        assert wait(client, rid)["status"] == "completed"
        curves.append([(m["epoch"], m["train_loss"], m["val_loss"], m["val_accuracy"])
                       for m in client.get(f"/api/runs/{rid}/metrics?type=epoch").json()])
        # Step messages come by time, so each run samples other steps of the same curve.
        points.append({m["step"]: m["loss"] for m in client.get(f"/api/runs/{rid}/metrics?type=step").json()})
    assert curves[0] == curves[1]
    common = points[0].keys() & points[1].keys()
    assert len(common) >= 3 and all(points[0][s] == points[1][s] for s in common)
    other = create(client, body | {"seed": 1})
    wait(client, other)
    assert client.get(f"/api/runs/{other}/metrics?type=epoch").json()[0]["train_loss"] != curves[0][0][1]


def test_classification_reports_accuracy_and_grid(client):
    rid = create(client, run_body("spirals_playground", epochs=2, grid_size=16))
    assert wait(client, rid)["status"] == "completed"
    msgs = client.get(f"/api/runs/{rid}/metrics").json()
    epoch = [m for m in msgs if m["type"] == "epoch"][-1]
    assert 0 <= epoch["val_accuracy"] <= 1
    grid = [m for m in msgs if m["type"] == "grid"][-1]
    assert grid["size"] == 16 and len(grid["values"]) == 16 and len(grid["values"][0]) == 16
    assert all(0 <= v <= 1 for row in grid["values"] for v in row)
    assert grid["x_range"][0] < grid["x_range"][1]
    acts = [m for m in msgs if m["type"] == "activations"][-1]
    assert [n["node"] for n in acts["nodes"]] == ["h1", "a1", "h2", "a2", "h3", "a3", "out"]


def test_nan_divergence_fails_the_run_naming_the_step(client):
    body = run_body("linear_regression", optimizer={"name": "sgd", "lr": 90.0}, epochs=50)
    rid = create(client, body)
    run = wait(client, rid)
    assert run["status"] == "failed"
    assert run["error"].startswith("loss became NaN at step ")
    step = int(run["error"].rsplit(" ", 1)[1])
    # Reference: the same run by hand in plain torch diverges at the same step.
    data = load(BUILTIN["synthetic_regression"], BUILTIN["synthetic_regression"].params.model_validate(body["dataset"]["params"]))
    torch.manual_seed(0)
    net = torch.nn.Linear(2, 1)
    torch.nn.init.normal_(net.weight, 0, 0.01)
    torch.nn.init.zeros_(net.bias)
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.SGD(net.parameters(), lr=90.0)
    n, k = len(data.x_train), 0
    while True:
        perm = torch.randperm(n, generator=gen)
        x, y = data.x_train[perm], data.y_train[perm]
        for i in range(0, n, 10):
            loss = torch.nn.functional.mse_loss(net(x[i:i + 10]), y[i:i + 10])
            k += 1
            if not math.isfinite(loss.item()):
                assert k == step
                msgs = client.get(f"/api/runs/{rid}/metrics").json()
                assert msgs[-1] == {"seq": msgs[-1]["seq"], "type": "status", "status": "failed", "error": run["error"]}
                return
            opt.zero_grad()
            loss.backward()
            opt.step()


def test_stop_keeps_weights_so_far(client):
    rid = create(client, long_run())
    wait(client, rid, {"running"})
    r = client.post(f"/api/runs/{rid}/stop")
    assert r.status_code == 200
    run = wait(client, rid)
    assert run["status"] == "stopped" and run["metrics"]["steps"] > 0
    assert client.get(f"/api/runs/{rid}/state_dict?format=pt").status_code == 200
    last = client.get(f"/api/runs/{rid}/metrics").json()[-1]
    assert last["type"] == "status" and last["status"] == "stopped"
    assert client.post(f"/api/runs/{rid}/stop").json()["status"] == "stopped"  # idempotent


def test_queue_full_is_429_with_retry_after(tmp_path):
    from fastapi.testclient import TestClient

    from blocklab.app import create_app
    from blocklab.settings import Settings

    app = create_app(Settings(data_dir=tmp_path, max_concurrent_runs=1, max_queued_runs=1))
    with TestClient(app) as c:
        first = create(c, long_run())
        wait(c, first, {"running"})
        queued = create(c, long_run())
        r = c.post("/api/runs", json=long_run())
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        c.post(f"/api/runs/{queued}/stop")
        assert wait(c, queued)["status"] == "stopped"
        c.post(f"/api/runs/{first}/stop")
        wait(c, first)


@pytest.mark.parametrize("change, field", [
    ({"dataset": {"name": "moons"}}, "shape"),  # Input [2] fits; output [1] vs cross_entropy
    ({"dataset": {"name": "nope"}}, "dataset.name"),
    ({"dataset": {"name": "synthetic_regression", "params": {"noise": -1}}}, "dataset.params.noise"),
    ({"dataset": {"name": "synthetic_regression", "params": {"w": [1, 2, 3]}}}, "shape"),
    ({"loss": "cross_entropy"}, "loss"),
])
def test_config_errors_are_422_naming_the_field(client, change, field):
    body = run_body("linear_regression") | change
    if field == "shape" and change["dataset"]["name"] == "moons":
        body["loss"] = "cross_entropy"
        field = "loss"
    r = client.post("/api/runs", json=body)
    assert r.status_code == 422, r.text
    fields = [e["field"] for e in r.json()["detail"]["errors"]]
    assert field in fields, r.json()


def test_input_shape_mismatch_message(client):
    body = run_body("lenet_digits", dataset={"name": "digits", "params": {"flatten": True}})
    r = client.post("/api/runs", json=body)
    assert r.status_code == 422
    err = r.json()["detail"]["errors"][0]
    assert err["node"] == "X" and err["field"] == "shape"
    assert "[1, 8, 8]" in err["message"] and "[64]" in err["message"]


def test_cuda_without_gpu_is_422(client):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    r = client.post("/api/runs", json=run_body("linear_regression", device="cuda"))
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "device"


def test_malformed_bodies_are_422_not_500(client):
    for body in [{}, {"graph": {}}, run_body("linear_regression", epochs=-1), run_body("linear_regression", batch_size=0),
                 run_body("linear_regression", optimizer={"name": "lbfgs"}), run_body("linear_regression", graph_id="x"),
                 run_body("linear_regression", optimizer={"name": "sgd", "lr": float("nan")})]:
        r = client.post("/api/runs", content=json.dumps(body), headers={"content-type": "application/json"})
        assert r.status_code == 422, (body, r.text)
    assert client.get("/api/runs/nope").status_code == 404
    assert client.post("/api/runs/nope/stop").status_code == 404


def test_every_template_trains(client):
    # The templates' suggested train configs must work with their graphs (a short run each).
    from blocklab.api.templates import load_templates

    for t in load_templates():
        if not t.get("train"):
            continue
        rid = create(client, {"graph": t["graph"], **t["train"], "epochs": 1})
        run = wait(client, rid)
        assert run["status"] == "completed", (t["id"], run["error"])


def test_saved_design_by_graph_id(client):
    gid = client.post("/api/graphs", json=run_body("linear_regression")["graph"]).json()["id"]
    body = run_body("linear_regression", epochs=1)
    del body["graph"]
    rid = create(client, body | {"graph_id": gid})
    assert wait(client, rid)["status"] == "completed"
    assert client.get("/api/runs").json()[0]["id"] == rid


def test_predict(client):
    rid = create(client, run_body("spirals_playground", epochs=2))
    wait(client, rid)
    r = client.post(f"/api/runs/{rid}/predict", json={"inputs": [[0.1, 0.2], [-0.5, 0.3]]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out["outputs"]) == 2 and len(out["outputs"][0]) == 2
    assert out["predicted"] == [max(range(2), key=lambda i: p[i]) for p in out["probabilities"]]
    for bad in [{"inputs": [[1, 2, 3]]}, {"inputs": [["a", 1]]}, {"inputs": [[1], [1, 2]]}, {"inputs": []}]:
        r = client.post(f"/api/runs/{rid}/predict", json=bad)
        assert r.status_code == 422, (bad, r.text)


# ---------------------------------------------------------------- the pieces, against torch
@pytest.mark.parametrize("kw", [{}, {"momentum": 0.9}, {"momentum": 0.9, "weight_decay": 0.01},
                                {"momentum": 0.5, "nesterov": True, "weight_decay": 0.1}])
def test_fast_sgd_matches_torch_sgd(kw):
    torch.manual_seed(0)
    a = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    b = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    b.load_state_dict(a.state_dict())
    spec = OptimizerSpec(name="sgd", lr=0.1, **kw)
    mine = FastSGD(a.parameters(), spec.lr, spec.momentum, spec.weight_decay, spec.nesterov)
    ref = torch.optim.SGD(b.parameters(), lr=0.1, **kw)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    for _ in range(5):
        for m, o in ((a, mine), (b, ref)):
            o.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(m(x), y).backward()
            o.step()
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_schedules_match_torch():
    p = torch.nn.Parameter(torch.zeros(1))
    for spec, make in [(ScheduleSpec(name="step", step_size=3, gamma=0.5),
                        lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
                       (ScheduleSpec(name="cosine", min_lr=0.01),
                        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10, 0.01))]:
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make(opt)
        for epoch in range(10):
            assert math.isclose(lr_at(spec, 0.1, epoch, 10), opt.param_groups[0]["lr"], rel_tol=1e-9, abs_tol=1e-12)
            opt.step()
            sched.step()


def test_param_stats_against_torch():
    from blocklab.train.stats import ParamStats

    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(300, 40), torch.nn.ReLU(), torch.nn.Linear(40, 2))
    m(torch.randn(8, 300)).sum().backward()
    st = ParamStats(m)
    st.before_step()
    before = {k: v.detach().clone() for k, v in m.named_parameters()}
    with torch.no_grad():
        for p in m.parameters():
            p -= 0.1 * p.grad
    layers = {x["name"]: x for x in st.after_step()}
    assert list(layers) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for name, p in m.named_parameters():
        s = layers[name]
        assert s["shape"] == list(p.shape)
        assert math.isclose(s["mean"], p.mean().item(), rel_tol=1e-4, abs_tol=1e-6)
        assert math.isclose(s["std"], p.std().item(), rel_tol=1e-4)
        assert s["min"] == p.min().item() and s["max"] == p.max().item()
        assert math.isclose(s["grad_norm"], p.grad.norm().item(), rel_tol=1e-4)
        ratio = (p - before[name]).norm() / p.norm()
        assert math.isclose(s["update_ratio"], ratio.item(), rel_tol=1e-3)
        assert s["nonfinite"] == 0
        assert len(s["hist"]["edges"]) == len(s["hist"]["counts"]) + 1
        assert sum(s["hist"]["counts"]) == min(p.numel(), p.numel() // -(-p.numel() // 8192) + 1) or \
            sum(s["hist"]["counts"]) <= 8192
    assert sum(layers["0.weight"]["hist"]["counts"]) <= 8192  # 12,000 values: a strided sample


def test_activation_dead_fraction():
    from blocklab.train.stats import ActivationProbe

    m = torch.nn.Sequential()
    m.add_module("lin", torch.nn.Linear(2, 4))
    m.add_module("act", torch.nn.ReLU())
    with torch.no_grad():
        m.lin.weight.zero_()
        m.lin.bias.copy_(torch.tensor([1.0, -1.0, -2.0, 3.0]))  # units 1 and 2 always dead
    nodes = {n["node"]: n for n in ActivationProbe(m, torch.randn(32, 2)).run()}
    assert nodes["act"]["dead_fraction"] == 0.5 and "dead_fraction" not in nodes["lin"]
    assert math.isclose(nodes["act"]["mean"], 1.0, rel_tol=1e-6)


def test_param_stats_count_nonfinite_values():
    from blocklab.train.stats import ParamStats

    m = torch.nn.Linear(3, 2)
    with torch.no_grad():
        m.weight[0, 0] = float("nan")
        m.weight[1, 2] = float("inf")
    layers = {x["name"]: x for x in ParamStats(m).after_step()}
    assert layers["weight"]["nonfinite"] == 2 and layers["weight"]["mean"] is None
    assert layers["bias"]["nonfinite"] == 0
    json.dumps(layers, allow_nan=False)  # strict JSON: non-finite statistics are null
