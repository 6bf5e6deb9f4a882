"""The training-options registry, record by record, with torch as the reference: every
optimizer steps a small model and lowers its loss (and keeps the state it declares), every
loss equals torch's nn module, every schedule equals torch's lr_scheduler, every metric its
definition. A new record without a reference here fails on purpose: add one."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from blocklab.data.base import Info
from blocklab.train.config import OptimizerSpec, TrainConfig
from blocklab.train.losses import LOSSES, resolve, usual
from blocklab.train.metrics import METRICS, for_task
from blocklab.train.optimizers import OPTIMIZERS, FastSGD, make_optimizer
from blocklab.train.schedules import SCHEDULES, lr_at

# name -> (spec fields, the torch optimizer it must equal)
OPTIMIZER_REFS = {
    "sgd": ({"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
            lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adam": ({"betas": [0.8, 0.99], "weight_decay": 0.01}, lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.8, 0.99),
                                                                                      weight_decay=0.01)),
    "adamw": ({"weight_decay": 0.1}, lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.1)),
}
# name -> (spec params, torch's loss module with those params)
LOSS_REFS = {
    "mse": ({}, nn.MSELoss()), "l1": ({}, nn.L1Loss()), "huber": ({"delta": 0.3}, nn.HuberLoss(delta=0.3)),
    "cross_entropy": ({}, nn.CrossEntropyLoss()), "bce_with_logits": ({}, nn.BCEWithLogitsLoss()),
}
# name -> (spec params, torch's scheduler for those params over EPOCHS)
EPOCHS = 12
SCHEDULE_REFS = {
    "step": ({"step_size": 4, "gamma": 0.5}, lambda o: torch.optim.lr_scheduler.StepLR(o, 4, 0.5)),
    "cosine": ({"min_lr": 0.01}, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, EPOCHS, 0.01)),
}


def _net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))


def _state_tensors(opt, p: torch.Tensor) -> int:
    """Optimizer state tensors of p's shape (the step counter is not one)."""
    return sum(1 for v in opt.state.get(p, {}).values() if torch.is_tensor(v) and v.shape == p.shape)


def test_every_record_has_a_reference():
    assert set(OPTIMIZERS) == set(OPTIMIZER_REFS)
    assert set(LOSSES) == set(LOSS_REFS)
    assert set(SCHEDULES) == set(SCHEDULE_REFS)
    assert {m.name for m in METRICS.values()} == {"loss", "accuracy"}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_lowers_the_loss_and_matches_torch(name):
    fields, ref = OPTIMIZER_REFS[name]
    spec = OptimizerSpec(name=name, lr=0.05, **fields)
    a, b = _net(), _net()
    mine, theirs = make_optimizer(a.parameters(), spec, torch.device("cpu")), ref(list(b.parameters()))
    x = torch.randn(64, 3, generator=torch.Generator().manual_seed(1))
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    first = F.mse_loss(a(x), y).item()
    for _ in range(20):
        for m, o in ((a, mine), (b, theirs)):
            o.zero_grad(set_to_none=True)
            F.mse_loss(m(x), y).backward()
            o.step()
    assert F.mse_loss(a(x), y).item() < 0.5 * first
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4)
    # The state count the memory estimate uses is the state the optimizer really keeps.
    want = OPTIMIZERS[name].states(spec)
    assert [_state_tensors(mine, p) for p in a.parameters()] == [want] * 4
    # lr is read from param_groups each step: the loop's per-epoch schedule reaches it.
    assert mine.param_groups[0]["lr"] == 0.05


def test_every_optimizer_default_is_the_documented_lr():
    for name, spec in OPTIMIZERS.specs.items():
        assert spec(name=name).lr == 0.001  # CONTRACT / README: the server's default
    assert TrainConfig.model_validate({"dataset": {"name": "moons"}, "loss": "mse"}).optimizer.name == "adam"


@pytest.mark.parametrize("momentum,nesterov", [(0.9, False), (0.5, True)])
def test_fast_sgd_parameter_that_gets_a_gradient_only_later(momentum, nesterov):
    # A CustomLayer with an `if` can leave a parameter out of one step's graph and use it on
    # the next: its momentum buffer starts then, as torch.optim.SGD's does (the old code kept
    # None in the buffer list and the next full step raised TypeError).
    torch.manual_seed(0)
    w = [torch.randn(4, requires_grad=True) for _ in range(2)]
    v = [t.detach().clone().requires_grad_() for t in w]
    mine = FastSGD(w, lr=0.1, momentum=momentum, weight_decay=0.01, nesterov=nesterov)
    ref = torch.optim.SGD(v, lr=0.1, momentum=momentum, weight_decay=0.01, nesterov=nesterov)
    for uses_second in [False, True, True, False, True]:
        for ps, o in ((w, mine), (v, ref)):
            o.zero_grad(set_to_none=True)
            ((ps[0] ** 2).sum() + ((ps[1] * 3).sum() if uses_second else 0)).backward()
            o.step()
    for p, q in zip(w, v):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_matches_torch_module(name):
    params, ref = LOSS_REFS[name]
    g = torch.Generator().manual_seed(0)
    loss = resolve({"name": name, **params})
    if loss.task == "regression":
        out, y = torch.randn(16, 2, generator=g) * 3, torch.randn(16, 2, generator=g)
        info, target = Info("regression", (3,), (2,)), y
        assert loss.check(info, (2,)) is None and loss.check(info, (3,)) is not None
    else:
        out, y = torch.randn(16, 3, generator=g), torch.randint(0, 3, (16,), generator=g)
        info = Info("classification", (3,), (), n_classes=3)
        assert loss.check(info, (3,)) is None and loss.check(info, (2,)) is not None
        target = y if name == "cross_entropy" else F.one_hot(y, 3).float()
        p = loss.proba(out)  # [B, C]: probabilities per class
        torch.testing.assert_close(p.sum(1), torch.ones(16))
    prepared = loss.prepare(y, info, tuple(out.shape[1:]))
    torch.testing.assert_close(loss.fn(out, prepared), ref(out, target))
    # The plain name means the record's defaults.
    torch.testing.assert_close(resolve(name).fn(out, prepared), resolve({"name": name}).fn(out, prepared))


def test_loss_params_reach_the_function():
    out, y = torch.linspace(-3, 3, 50).unsqueeze(1), torch.zeros(50, 1)
    assert not torch.allclose(resolve({"name": "huber", "delta": 0.3}).fn(out, y), resolve("huber").fn(out, y))
    torch.testing.assert_close(resolve("huber").fn(out, y), nn.HuberLoss()(out, y))


def test_each_task_has_one_usual_loss():
    for task in ("regression", "classification"):
        assert [l.name for l in LOSSES.values() if l.task == task and l.usual] == [usual(task).name]


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch(name):
    params, ref = SCHEDULE_REFS[name]
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = ref(opt)
    spec = SCHEDULES.spec(name=name, **params)
    for epoch in range(EPOCHS):
        assert math.isclose(lr_at(spec, 0.1, epoch, EPOCHS), opt.param_groups[0]["lr"], rel_tol=1e-9, abs_tol=1e-12)
        opt.step()
        sched.step()


def test_metrics_against_their_definitions():
    g = torch.Generator().manual_seed(0)
    out, labels = torch.randn(40, 3, generator=g), torch.randint(0, 3, (40,), generator=g)
    ce = LOSSES["cross_entropy"]
    got = {m.key: m.batch(out, labels, labels, ce).item() / 40 for m in for_task("classification")}
    assert got == pytest.approx({"val_loss": F.cross_entropy(out, labels).item(),
                                 "val_accuracy": (out.argmax(1) == labels).float().mean().item()})
    assert [m.key for m in for_task("regression")] == ["val_loss"]


# ---------------------------------------------------------------- run bodies, old and new
def _cfg(**fields) -> TrainConfig:
    return TrainConfig.model_validate({"dataset": {"name": "moons"}, "loss": "mse", **fields})


OLD_OPTIMIZER_DUMP = {"name": "adam", "lr": 0.001, "momentum": 0.0, "nesterov": False, "weight_decay": 0.0,
                      "betas": [0.9, 0.999], "eps": 1e-8}  # the single OptimizerSpec before the registry


def test_bodies_valid_before_the_registry_keep_their_meaning():
    assert _cfg().model_dump(mode="json")["optimizer"] == OLD_OPTIMIZER_DUMP
    assert _cfg(optimizer={"lr": 0.05}).optimizer.name == "adam"  # no name: adam, as before
    # Fields that any optimizer / schedule accepted are still accepted (and ignored where unused).
    sgd = _cfg(optimizer={"name": "sgd", "betas": [0.5, 0.5], "eps": 0.1, "momentum": 0.9}).optimizer
    assert (sgd.name, sgd.momentum, list(sgd.betas)) == ("sgd", 0.9, [0.5, 0.5])
    adam = _cfg(optimizer={"name": "adam", "momentum": 0.9, "nesterov": True}).optimizer
    assert adam.name == "adam" and make_optimizer(_net().parameters(), adam, torch.device("cpu")).defaults["betas"] \
        == (0.9, 0.999)
    for name in SCHEDULES:
        s = _cfg(schedule={"name": name, "step_size": 3, "gamma": 0.5, "min_lr": 0.01}).schedule
        assert s.name == name and (s.step_size, s.gamma, s.min_lr) == (3, 0.5, 0.01)
    # A stored config (every field dumped) reads back to the same config.
    for body in [{"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True}},
                 {"schedule": {"name": "cosine", "min_lr": 0.01}}, {"loss": {"name": "huber", "delta": 0.5}}, {}]:
        cfg = _cfg(**body)
        assert TrainConfig.model_validate(cfg.model_dump(mode="json")) == cfg
    assert _cfg().loss == "mse" and _cfg().model_dump(mode="json")["loss"] == "mse"  # a name stays a name


@pytest.mark.parametrize("bad,where", [
    ({"optimizer": {"name": "lbfgs"}}, ["optimizer"]),
    ({"optimizer": {"name": "sgd", "nesterov": True}}, ["optimizer", "sgd"]),
    ({"optimizer": {"name": "adam", "betas": [1.0, 0.5]}}, ["optimizer", "adam", "betas", 0]),
    ({"optimizer": {"name": "sgd", "rho": 1}}, ["optimizer", "sgd", "rho"]),
    ({"schedule": {"name": "step", "gamma": 2}}, ["schedule", "step", "gamma"]),
    ({"schedule": {"step_size": 2}}, ["schedule"]),
    ({"loss": "hinge"}, ["loss"]),
    ({"loss": {"name": "huber", "delta": -1}}, ["loss"]),
])
def test_bad_options_are_422_naming_the_field(client, bad, where):
    from runs_fixtures import run_body

    r = client.post("/api/runs", json=run_body("linear_regression") | bad)
    assert r.status_code == 422, r.text
    locs = [e["loc"][1:] for e in r.json()["detail"]]
    assert any(loc[:len(where)] == where for loc in locs), locs


def test_options_catalog_and_openapi(client):
    got = client.get("/api/options").json()
    assert [o["name"] for o in got["optimizers"]] == list(OPTIMIZERS)
    assert [o["name"] for o in got["losses"]] == list(LOSSES)
    assert [o["name"] for o in got["schedules"]] == list(SCHEDULES)
    assert [o["key"] for o in got["metrics"]] == [m.key for m in METRICS.values()]
    assert [o["name"] for o in got["optimizers"] if o["default"]] == ["adam"]
    adam = next(o for o in got["optimizers"] if o["name"] == "adam")["params_schema"]["properties"]
    assert adam["lr"]["default"] == 0.001 and adam["momentum"]["deprecated"] is True
    assert {l["name"]: l["task"] for l in got["losses"]}["cross_entropy"] == "classification"
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    opt = schemas["RunCreate"]["properties"]["optimizer"]
    assert opt["discriminator"]["propertyName"] == "name"
    assert set(opt["discriminator"]["mapping"]) == set(OPTIMIZERS)
    assert {"SgdOptimizer", "AdamOptimizer", "StepSchedule", "CosineSchedule", "HuberLoss"} <= set(schemas)


def test_new_style_bodies_train(client):
    from runs_fixtures import create, run_body, wait

    body = run_body("linear_regression", epochs=2, loss={"name": "huber", "delta": 0.5},
                    optimizer={"name": "sgd", "lr": 0.03, "momentum": 0.5}, schedule={"name": "cosine"})
    run = wait(client, create(client, body))
    assert run["status"] == "completed", run["error"]
    assert run["config"]["loss"] == {"name": "huber", "delta": 0.5}
    epochs = client.get(f"/api/runs/{run['id']}/metrics?type=epoch").json()
    assert [e["lr"] for e in epochs] == [0.03, pytest.approx(0.015)]  # cosine over 2 epochs
