"""num_workers > 1 (data-parallel training) needs the Ray runner: the local runner refuses it up front."""

from __future__ import annotations

from runs_fixtures import run_body


def test_the_local_runner_refuses_several_workers(client):
    r = client.post("/api/runs", json=run_body("linear_regression", num_workers=2))
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]["errors"]
    assert [e["field"] for e in errors] == ["num_workers"]
    assert "Ray cluster" in errors[0]["message"] and "BLOCKLAB_RUNNER" in errors[0]["message"]
    assert client.get("/api/runs").json() == []  # no run was made


def test_num_workers_is_bounded(client):
    for bad in (0, 65, "two"):
        assert client.post("/api/runs", json=run_body("linear_regression", num_workers=bad)).status_code == 422
