"""The Ray runner against a real Ray cluster started on loopback (`ray_url`, tests/ray_cluster.py:
a head node with 2 CPUs and its dashboard, which serves the Jobs API), through the REST API.

Skipped where Ray is not installed: pip install -e '.[ray]'.
"""

from __future__ import annotations

import dataclasses
import io
import sys
import time
from pathlib import Path

import pytest
import torch

pytest.importorskip("ray.job_submission", reason="Ray is not installed: pip install -e '.[ray]' to run the Ray runner tests")

from fastapi.testclient import TestClient  # noqa: E402

from blocklab.app import create_app  # noqa: E402
from blocklab.runs.runners import Refused  # noqa: E402
from blocklab.settings import Settings  # noqa: E402
from ray_cluster import free_ports  # noqa: E402
from runs_fixtures import assert_gapless, create, exported_model, long_run, read_stream, run_body, wait  # noqa: E402

def _weights(client, rid: str) -> dict[str, torch.Tensor]:
    r = client.get(f"/api/runs/{rid}/state_dict?format=pt")
    assert r.status_code == 200, r.text
    return torch.load(io.BytesIO(r.content), weights_only=True)


def test_runs_complete_on_the_cluster_like_local_runs(ray_client, client):
    bodies = [run_body("linear_regression"), run_body("spirals_playground", epochs=2), run_body("lenet_digits", epochs=1)]
    ids = [create(ray_client, b) for b in bodies]
    local = [create(client, b) for b in bodies]
    for rid, lid, body in zip(ids, local, bodies):
        run, lrun = wait(ray_client, rid, timeout=150), wait(client, lid)
        assert run["status"] == "completed", run.get("error")
        assert lrun["status"] == "completed"
        assert run["metrics"].keys() == lrun["metrics"].keys()
        assert run["metrics"]["steps"] == lrun["metrics"]["steps"]
        # the same design, config and seed train to about the same loss (thread counts differ)
        assert run["metrics"]["val_loss"] == pytest.approx(lrun["metrics"]["val_loss"], rel=0.05, abs=1e-4)

        # the stream replays gaplessly, from the start and from the middle, and ends on the final status
        msgs = _replayed_completed(ray_client, rid)
        assert {m["type"] for m in msgs} == {m["type"] for m in client.get(f"/api/runs/{lid}/metrics").json()}
        mid = len(msgs) // 2
        with ray_client.websocket_connect(f"/api/runs/{rid}/stream?after={mid}") as ws:
            assert read_stream(ws) == msgs[mid:]

        # the weights: the same format as a local run's, loading strict into the exported Model
        w, lw = _weights(ray_client, rid), _weights(client, lid)
        assert {k: (v.shape, v.dtype) for k, v in w.items()} == {k: (v.shape, v.dtype) for k, v in lw.items()}
        exported_model(ray_client, body["graph"]).load_state_dict(w, strict=True)
        assert ray_client.get(f"/api/runs/{rid}/state_dict?format=safetensors&which=best").status_code == 200


@pytest.fixture
def shared_client(ray_url, tmp_path):
    """The data dir is shared with the cluster (same machine): jobs write checkpoints into it."""
    s = Settings(data_dir=tmp_path / "data", runner=ray_url, ray_python=sys.executable, ray_shared_data_dir=True)
    with TestClient(create_app(s)) as c:
        yield c


def test_stop_cancels_the_job_and_keeps_the_weights(shared_client, ray_url):
    ray_client = shared_client
    rid = create(ray_client, long_run())
    deadline = time.monotonic() + 90
    while not any(m["type"] == "step" for m in ray_client.get(f"/api/runs/{rid}/metrics").json()):
        assert time.monotonic() < deadline, ray_client.get(f"/api/runs/{rid}").json()
        time.sleep(0.1)
    assert ray_client.post(f"/api/runs/{rid}/stop").status_code == 200
    run = wait(ray_client, rid, timeout=60)
    assert run["status"] == "stopped", run.get("error")
    assert run["metrics"]["steps"] > 0
    assert len(_weights(ray_client, rid)) == 4
    from ray.job_submission import JobSubmissionClient

    assert str(JobSubmissionClient(ray_url).get_job_status(rid)).endswith("STOPPED")


def test_a_run_the_cluster_cannot_host_is_refused(ray_client):
    from blocklab.runs.plan import RunCreate, prepare
    from blocklab.graph.analyze import Limits
    from blocklab.graph.document import GraphDoc

    body = RunCreate.model_validate(run_body("linear_regression"))
    plan = prepare(body, GraphDoc.model_validate(body.graph), Limits(), Path(ray_client.app.state.settings.data_dir))
    manager = ray_client.app.state.runs
    assert manager.runner.cuda_available() is False  # what plan.prepare should ask, not this server's torch
    with pytest.raises(Refused) as e:
        manager.submit(dataclasses.replace(plan, device="cuda"))  # the cluster has no GPU
    assert e.value.errors[0]["field"] == "device" and "GPU" in e.value.errors[0]["message"]


def test_an_unreachable_cluster_fails_the_run_clearly(tmp_path):
    (port,) = free_ports(1)
    s = Settings(data_dir=tmp_path / "data", runner=f"http://127.0.0.1:{port}", ray_lost_after=1)
    with TestClient(create_app(s)) as c:
        rid = create(c, run_body("linear_regression"))
        run = wait(c, rid, timeout=30)
        assert run["status"] == "failed"
        assert f"127.0.0.1:{port}" in run["error"] and "Ray cluster" in run["error"]


def _replayed_completed(client, rid: str) -> list[dict]:
    """The finished run's stream, replayed: equal to the stored metrics, gapless, and
    queued -> running -> completed."""
    stored = client.get(f"/api/runs/{rid}/metrics").json()
    with client.websocket_connect(f"/api/runs/{rid}/stream") as ws:
        msgs = read_stream(ws)
    assert msgs == stored
    assert_gapless(msgs)
    assert [m["status"] for m in msgs if m["type"] == "status"] == ["queued", "running", "completed"]
    return msgs


def test_several_workers_train_with_ray_train(ray_client, ray_url):
    """num_workers=2: a TorchTrainer with two gloo ranks (DDP) on the 2-CPU cluster; rank 0 reports."""
    body = run_body("spirals_playground", epochs=3, num_workers=2)
    rid = create(ray_client, body)
    run = wait(ray_client, rid, timeout=180)
    assert run["status"] == "completed", run.get("error")
    msgs = _replayed_completed(ray_client, rid)
    (start,) = [m for m in msgs if m["type"] == "start"]
    assert start["num_workers"] == 2 and start["n_train"] == 1000
    assert start["steps_per_epoch"] == 16  # each rank: 500 samples in batches of 32 (global batch 64)
    assert [m["epoch"] for m in msgs if m["type"] == "epoch"] == [1, 2, 3]
    assert run["metrics"]["steps"] == 3 * 16
    # the weights: the plain model's keys (no DDP `module.` prefix), loading strict into the exported Model
    w = _weights(ray_client, rid)
    assert not any(k.startswith("module.") for k in w)
    exported_model(ray_client, body["graph"]).load_state_dict(w, strict=True)


def test_more_workers_than_the_cluster_has_are_refused(ray_client):
    r = ray_client.post("/api/runs", json=run_body("linear_regression", num_workers=3))  # 2 CPUs
    assert r.status_code == 422, r.text
    (e,) = r.json()["detail"]["errors"]
    assert e["field"] == "num_workers" and "room for 2" in e["message"]


def test_a_deleted_run_leaves_no_job_on_the_cluster(ray_client, ray_url):
    """The job's record holds the run's design and config (its entrypoint): deleting the run removes it."""
    from ray.job_submission import JobSubmissionClient

    rid = create(ray_client, run_body("linear_regression"))
    assert wait(ray_client, rid, timeout=150)["status"] == "completed"
    jobs = JobSubmissionClient(ray_url)
    assert jobs.get_job_info(rid).submission_id == rid
    assert ray_client.delete(f"/api/runs/{rid}").status_code == 204
    assert rid not in {j.submission_id for j in jobs.list_jobs()}
