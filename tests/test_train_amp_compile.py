"""Opt-in `amp: "bf16"` and `compile: true` per run: each trains the same design to a loss near
the plain run's (measured against it on a GPU only where one is lent; see the README)."""

from __future__ import annotations

import pytest

from runs_fixtures import create, mlp, wait


def _body(**kw) -> dict:
    return {"graph": mlp(2, 32, 2), "dataset": {"name": "moons", "params": {"n": 600}}, "loss": "cross_entropy",
            "optimizer": {"name": "adam", "lr": 0.01}, "epochs": 8, "batch_size": 32, "device": "cpu", "seed": 3} | kw


def _final_loss(client, rid: str) -> float:
    run = wait(client, rid, timeout=240)
    assert run["status"] == "completed", run
    return run["metrics"]["val_loss"]


@pytest.mark.parametrize("option", [{"amp": "bf16"}, {"compile": True}])
def test_an_option_trains_like_the_plain_run(client, option):
    plain = _final_loss(client, create(client, _body()))
    tuned = create(client, _body(**option))
    got = _final_loss(client, tuned)
    assert got < 0.45, got  # it learned moons (a fresh model starts near ln 2 = 0.69)
    assert abs(got - plain) < 0.15, (got, plain)
    assert client.get(f"/api/runs/{tuned}").json()["config"] | option == client.get(f"/api/runs/{tuned}").json()["config"]


def test_amp_takes_only_off_or_bf16(client):
    r = client.post("/api/runs", json=_body(amp="fp8"))
    assert r.status_code == 422 and "amp" in r.text
