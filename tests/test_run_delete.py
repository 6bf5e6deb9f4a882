"""DELETE /api/runs/{id}: a finished run goes with everything stored for it; a live one is refused."""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import torch
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from blocklab.app import create_app
from blocklab.client import Blocklab, BlocklabError
from blocklab.runs import checkpoints, store
from blocklab.runs.tables import run_events
from blocklab.settings import Settings
from live_server import live_server
from runs_fixtures import assert_gapless, create, exported_model, long_run, run_body, wait


def _until(cond, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _steps(client, rid: str) -> int:
    return len(client.get(f"/api/runs/{rid}/metrics?type=step").json())


def _event_rows(client, rid: str) -> int:
    with client.app.state.engine.connect() as c:
        return c.execute(sa.select(sa.func.count()).where(run_events.c.run_id == rid)).scalar()


def _stream_close_code(client, rid: str) -> int:
    with client.websocket_connect(f"/api/runs/{rid}/stream") as ws:
        with pytest.raises(WebSocketDisconnect) as e:
            ws.receive_text()
    return e.value.code


def _assert_gone(client, rid: str) -> None:
    for method, path, kw in [("GET", "", {}), ("GET", "/metrics", {}), ("GET", "/state_dict", {}),
                             ("GET", "/state_dict?which=best&format=safetensors", {}), ("POST", "/stop", {}),
                             ("POST", "/predict", {"json": {"inputs": [[0.0, 0.0]]}})]:
        r = client.request(method, f"/api/runs/{rid}{path}", **kw)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json() == {"detail": f"no run with id '{rid}'"}
    assert rid not in {r["id"] for r in client.get("/api/runs").json()}
    assert _stream_close_code(client, rid) == 4404  # as for an id that never existed


def test_delete_finished_run_removes_it_and_nothing_else(client, settings):
    graph = run_body("linear_regression")["graph"]
    gid = client.post("/api/graphs", json=graph).json()["id"]
    design = client.get(f"/api/graphs/{gid}").json()
    gone = create(client, run_body("linear_regression", epochs=2, graph_id=gid))
    kept = create(client, run_body("linear_regression", epochs=2, graph_id=gid, seed=1))
    assert wait(client, gone)["status"] == wait(client, kept)["status"] == "completed"
    gone_dir = checkpoints.run_dir(settings.data_dir, gone)
    assert {p.name for p in gone_dir.iterdir()} == {"last.safetensors", "best.safetensors", "tensorboard"}
    assert _event_rows(client, gone) > 0
    kept_info = client.get(f"/api/runs/{kept}").json()
    kept_msgs = client.get(f"/api/runs/{kept}/metrics").json()
    kept_weights = client.get(f"/api/runs/{kept}/state_dict?format=safetensors").content

    r = client.delete(f"/api/runs/{gone}")
    assert r.status_code == 204 and r.content == b""

    _assert_gone(client, gone)
    assert [x["id"] for x in client.get(f"/api/runs?graph_id={gid}").json()] == [kept]
    assert not gone_dir.exists() and _event_rows(client, gone) == 0
    assert store.get(client.app.state.engine, gone) is None
    # The other run and the design are exactly as before.
    assert client.get(f"/api/runs/{kept}").json() == kept_info
    assert client.get(f"/api/runs/{kept}/metrics").json() == kept_msgs
    assert client.get(f"/api/runs/{kept}/state_dict?format=safetensors").content == kept_weights
    assert sorted(p.name for p in (settings.data_dir / "runs").iterdir()) == [kept]
    assert client.get(f"/api/graphs/{gid}").json() == design
    # Its weights still work: torch on the exported model agrees with the server's predict.
    model = exported_model(client, graph)
    model.load_state_dict(torch.load(io.BytesIO(client.get(f"/api/runs/{kept}/state_dict").content),
                                     weights_only=True), strict=True)
    x = [[0.5, -1.0], [2.0, 0.25]]
    out = client.post(f"/api/runs/{kept}/predict", json={"inputs": x}).json()["outputs"]
    torch.testing.assert_close(torch.tensor(out), model(torch.tensor(x)).detach(), rtol=1e-5, atol=1e-5)
    # A second delete finds nothing.
    again = client.delete(f"/api/runs/{gone}")
    assert again.status_code == 404 and again.json() == {"detail": f"no run with id '{gone}'"}


def test_unknown_id_is_404_naming_it(client):
    r = client.delete("/api/runs/no-such-run-42")
    assert r.status_code == 404
    assert r.json() == {"detail": "no run with id 'no-such-run-42'"}
    assert r.json() == client.get("/api/runs/no-such-run-42").json()  # the same body as GET's 404
    assert client.delete("/api/runs/" + "x" * 65).status_code == 422  # ids are at most 64 characters


def test_live_runs_are_409_and_carry_on(tmp_path):
    # One worker: the first run trains until stopped, the second waits in the queue behind it.
    with TestClient(create_app(Settings(data_dir=tmp_path, max_concurrent_runs=1))) as c:
        running = create(c, long_run())
        wait(c, running, {"running"})
        queued = create(c, run_body("linear_regression", epochs=2))
        for rid, status in [(running, "running"), (queued, "queued")]:
            r = c.delete(f"/api/runs/{rid}")
            assert r.status_code == 409, r.text
            assert r.json() == {"detail": f"run '{rid}' is {status}: stop it first (POST /api/runs/{rid}/stop)"}
        # Refusing touched nothing: the running run keeps training and writing.
        _until(lambda: _steps(c, running) > 0)
        seen = _steps(c, running)
        _until(lambda: _steps(c, running) > seen)
        assert c.get(f"/api/runs/{running}").json()["status"] == "running"
        assert c.post(f"/api/runs/{running}/stop").status_code == 200
        assert wait(c, running)["status"] == "stopped"
        # The queued run then runs to the end with its whole history and weights.
        run = wait(c, queued)
        assert run["status"] == "completed" and run["metrics"]["steps"] == 200
        msgs = c.get(f"/api/runs/{queued}/metrics").json()
        assert_gapless(msgs)
        assert [m["status"] for m in msgs if m["type"] == "status"] == ["queued", "running", "completed"]
        assert c.get(f"/api/runs/{queued}/state_dict").status_code == 200
        # Finished now (stopped, completed): both may go.
        for rid in (running, queued):
            assert c.delete(f"/api/runs/{rid}").status_code == 204
            _assert_gone(c, rid)
        assert c.get("/api/runs").json() == []


def test_store_never_deletes_a_live_row(client):
    # The status condition is in the DELETE itself, whatever the caller checked first.
    rid = create(client, long_run())
    wait(client, rid, {"running"})
    assert store.delete_finished(client.app.state.engine, rid) is False
    assert client.get(f"/api/runs/{rid}").json()["status"] == "running" and _event_rows(client, rid) > 0
    client.post(f"/api/runs/{rid}/stop")
    wait(client, rid)
    assert store.delete_finished(client.app.state.engine, rid) is True


def test_run_outlives_its_design_and_deletes_cleanly(client, settings):
    keep_gid = client.post("/api/graphs", json=run_body("spirals_playground")["graph"]).json()["id"]
    gid = client.post("/api/graphs", json=run_body("spirals_playground")["graph"]).json()["id"]
    body = run_body("spirals_playground", epochs=1)
    del body["graph"]
    rid = create(client, body | {"graph_id": gid})
    assert wait(client, rid)["status"] == "completed"
    assert client.delete(f"/api/graphs/{gid}").status_code == 204
    # The run does not depend on its design: it still reads, downloads and predicts.
    assert client.get(f"/api/runs/{rid}").json()["graph_id"] == gid
    assert client.get(f"/api/runs/{rid}/state_dict").status_code == 200
    assert client.post(f"/api/runs/{rid}/predict", json={"inputs": [[0.1, 0.2]]}).status_code == 200
    assert client.delete(f"/api/runs/{rid}").status_code == 204
    _assert_gone(client, rid)
    assert not checkpoints.run_dir(settings.data_dir, rid).exists()
    assert [g["id"] for g in client.get("/api/graphs").json()] == [keep_gid]


def test_client_delete_run(settings):
    with live_server(settings) as url, Blocklab(url) as bl:
        run = bl.start_run(run_body("linear_regression")["graph"], dataset="synthetic_regression", loss="mse",
                           optimizer="sgd", lr=0.03, epochs=1, batch_size=10)
        assert run.wait()["status"] == "completed"
        assert bl.delete_run(run.id) is None
        assert run.id not in {r["id"] for r in bl.runs()}
        with pytest.raises(BlocklabError) as e:
            run.info()
        assert e.value.status == 404
        with pytest.raises(BlocklabError) as e:
            bl.delete_run(run.id)
        assert e.value.status == 404 and run.id in e.value.detail

        body = long_run()
        live = bl.start_run(body["graph"], dataset="moons", dataset_params={"n": 2000}, optimizer="sgd", lr=0.05,
                            epochs=100_000, batch_size=4, device="cpu")
        _until(lambda: live.status == "running")
        with pytest.raises(BlocklabError) as e:
            bl.delete_run(live.id)
        assert e.value.status == 409 and f"POST /api/runs/{live.id}/stop" in e.value.detail
        live.stop()
        assert live.wait()["status"] == "stopped"
        bl.delete_run(live.id)
        assert bl.runs() == []


def test_token_guards_delete(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, token="s3cret"))) as c:
        c.headers["Authorization"] = "Bearer s3cret"
        rid = create(c, run_body("linear_regression", epochs=1))
        wait(c, rid)
        for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}):
            assert c.delete(f"/api/runs/{rid}", headers=headers).status_code == 401
        assert c.get(f"/api/runs/{rid}").status_code == 200 and (tmp_path / "runs" / rid).is_dir()
        assert c.delete(f"/api/runs/{rid}").status_code == 204
        assert c.get(f"/api/runs/{rid}").status_code == 404


def test_checkpoint_gone_under_a_known_run_is_409_not_500(client, settings, monkeypatch):
    """A delete can land between the route finding the run and reading its weights file: the
    weights routes read the file once (no exists-check first) and answer 409, never a 500."""
    rid = create(client, run_body("linear_regression", epochs=1))
    assert wait(client, rid)["status"] == "completed"
    for p in checkpoints.run_dir(settings.data_dir, rid).iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()  # the row is still there, as it would be mid-delete
    # any exists-check would still have said yes: the file went after it
    monkeypatch.setattr(Path, "is_file", lambda self: True)
    for method, path, kw in [("GET", "/state_dict", {}), ("GET", "/state_dict?format=safetensors&which=best", {}),
                             ("POST", "/predict", {"json": {"inputs": [[0.0, 0.0]]}})]:
        r = client.request(method, f"/api/runs/{rid}{path}", **kw)
        assert r.status_code == 409 and "checkpoint" in r.json()["detail"], (path, r.text)
