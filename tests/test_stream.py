"""The run stream: replay with ?after=N (memory and database), many viewers, slow viewers."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import threading
import time

import pytest

from runs_fixtures import assert_gapless, create, long_run, read_stream, run_body, wait


def _stored(client, rid):
    return client.get(f"/api/runs/{rid}/metrics").json()


def test_finished_run_replays_then_closes(client):
    rid = create(client, run_body("linear_regression"))
    wait(client, rid)
    stored = _stored(client, rid)
    with client.websocket_connect(f"/api/runs/{rid}/stream") as ws:
        msgs = read_stream(ws)
    assert msgs == stored
    assert_gapless(msgs)
    assert msgs[0] == {"seq": 1, "type": "status", "status": "queued"}
    assert msgs[-1]["type"] == "status" and msgs[-1]["status"] == "completed"
    types = {m["type"] for m in msgs}
    assert {"step", "epoch", "stats", "activations", "status"} <= types
    step = next(m for m in msgs if m["type"] == "step")
    assert set(step) == {"seq", "type", "step", "epoch", "loss"}
    layer = next(m for m in msgs if m["type"] == "stats")["layers"][0]
    assert {"name", "shape", "mean", "std", "min", "max", "grad_norm", "update_ratio", "nonfinite", "hist"} <= set(layer)
    with client.websocket_connect(f"/api/runs/{rid}/stream?after=5") as ws:
        tail = read_stream(ws)
    assert tail == stored[5:]


def test_reconnect_with_after_is_gapless_without_duplicates(client):
    rid = create(client, long_run(stats_every=20))
    got = []
    for _ in range(3):  # drop the connection mid-run twice, resume from the last seq seen
        after = got[-1]["seq"] if got else 0
        with client.websocket_connect(f"/api/runs/{rid}/stream?after={after}") as ws:
            got += read_stream(ws, until=lambda m, n=len(got): m["seq"] >= after + 15)
    client.post(f"/api/runs/{rid}/stop")
    with client.websocket_connect(f"/api/runs/{rid}/stream?after={got[-1]['seq']}") as ws:
        got += read_stream(ws)
    assert_gapless(got)
    assert got[-1]["type"] == "status" and got[-1]["status"] == "stopped"
    wait(client, rid)
    assert got == _stored(client, rid)


def test_many_viewers_get_the_same_messages(client):
    rid = create(client, long_run(epochs=3, stats_every=50))
    sockets = [client.websocket_connect(f"/api/runs/{rid}/stream") for _ in range(5)]
    streams = []
    for cm in sockets:
        with cm as ws:
            streams.append(read_stream(ws))
    assert all(s == streams[0] for s in streams)
    assert_gapless(streams[0])
    assert streams[0][-1]["status"] == "completed"


def test_unknown_run_closes_with_4404(client):
    from starlette.websockets import WebSocketDisconnect

    with client.websocket_connect("/api/runs/nope/stream") as ws:
        with pytest.raises(WebSocketDisconnect) as e:
            ws.receive_text()
    assert e.value.code == 4404


# ---------------------------------------------------------------- the hub's slow-viewer policy
def test_hub_coalesces_step_points_but_never_status():
    from blocklab.runs.hub import Hub

    async def scenario():
        hub = Hub(maxlen=32, hopeless_after=3600)
        hub.bind(asyncio.get_running_loop())
        hub.open("r")
        slow = hub.subscribe("r", 0)

        def produce():
            for i in range(2000):
                hub.publish("r", "step", {"step": i})
                if i % 100 == 0:
                    hub.publish("r", "status", {"status": f"s{i}"})
            hub.publish("r", "status", {"status": "completed"}, final=True)

        t = threading.Thread(target=produce)
        t.start()
        while t.is_alive():
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)
        assert len(slow.q) <= 32 + 21  # bounded: at most maxlen plus the status messages kept
        got = []
        while (item := await slow.get()) is not None:
            got.append(json.loads(item[2]))
        return got

    got = asyncio.run(scenario())
    statuses = [m["status"] for m in got if m["type"] == "status"]
    assert statuses == [f"s{i}" for i in range(0, 2000, 100)] + ["completed"]
    seqs = [m["seq"] for m in got]
    assert seqs == sorted(set(seqs))  # in order, no duplicates (gaps only where steps were coalesced)
    assert got[-1]["status"] == "completed"


def test_hub_closes_a_hopeless_viewer():
    from blocklab.runs.hub import Hub

    async def scenario():
        hub = Hub(maxlen=8, hopeless_after=0.05)
        hub.bind(asyncio.get_running_loop())
        hub.open("r")
        slow = hub.subscribe("r", 0)
        fast = hub.subscribe("r", 0)
        got = []

        async def reader():
            while (item := await fast.get()) is not None:
                got.append(item[0])

        task = asyncio.create_task(reader())
        for i in range(200):
            hub.publish("r", "step", {"step": i})
            await asyncio.sleep(0.001)
        hub.publish("r", "status", {"status": "completed"}, final=True)
        await asyncio.wait_for(task, 5)
        return slow, got

    slow, got = asyncio.run(scenario())
    assert slow.hopeless
    assert got == list(range(1, 202))  # the reading viewer lost nothing


# ---------------------------------------------------------------- a stalled viewer on a real server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stalled_websocket(port: int, path: str) -> socket.socket:
    """Completes the websocket handshake, then never reads: the server's sends back up."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0]
    return s


def test_stalled_viewer_never_blocks_training_or_other_viewers(tmp_path):
    import httpx
    import uvicorn
    from websockets.sync.client import connect

    from blocklab.app import create_app
    from blocklab.settings import Settings

    app = create_app(Settings(data_dir=tmp_path, stream_hopeless_after=0.5))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    try:
        while not server.started:
            time.sleep(0.01)
        base = f"http://127.0.0.1:{port}"
        # Big stats messages every step: megabytes of stream that the stalled viewer never reads.
        body = long_run(epochs=1, stats_every=1, graph=run_body("spirals_playground")["graph"],
                        dataset={"name": "moons", "params": {"n": 1600}})
        rid = httpx.post(f"{base}/api/runs", json=body).json()["id"]
        stalled = _stalled_websocket(port, f"/api/runs/{rid}/stream")
        with connect(f"ws://127.0.0.1:{port}/api/runs/{rid}/stream", max_size=None) as ws:
            msgs = [json.loads(m) for m in ws]
        run = httpx.get(f"{base}/api/runs/{rid}").json()
        assert run["status"] == "completed" and run["metrics"]["steps"] == 400
        stored = {m["seq"]: m for m in httpx.get(f"{base}/api/runs/{rid}/metrics").json()}
        # The reading viewer got the stream in order, without duplicates, exactly as stored, and
        # every message that is never coalesced (a viewer that falls behind may lose step points).
        assert [m["seq"] for m in msgs] == sorted({m["seq"] for m in msgs})
        assert all(stored[m["seq"]] == m for m in msgs)
        kept = [m for m in stored.values() if m["type"] in ("status", "epoch")]
        assert [m for m in msgs if m["type"] in ("status", "epoch")] == kept
        assert msgs[-1]["type"] == "status" and msgs[-1]["status"] == "completed"
        assert len(stored) > 600  # the stalled viewer was offered far more than its queue holds
        stalled.close()
    finally:
        server.should_exit = True
        th.join(10)


def test_long_run_keeps_only_recent_messages_in_memory_and_replays_all(client):
    manager = client.app.state.runs
    manager.hub.keep = 20  # tiny memory window: older messages come from the database
    rid = create(client, long_run(stats_every=5, report_interval=0.01))
    deadline = time.monotonic() + 30
    while manager.hub.messages(rid) is None or manager.hub.messages(rid)[0] < 100:
        assert time.monotonic() < deadline and wait(client, rid, {"running"})
        time.sleep(0.05)
    with client.websocket_connect(f"/api/runs/{rid}/stream?after=3") as ws:
        got = read_stream(ws, until=lambda m: m["seq"] >= 150)
    assert_gapless(got, after=3)
    mid = client.get(f"/api/runs/{rid}/metrics?after=10").json()
    assert_gapless(mid, after=10)
    client.post(f"/api/runs/{rid}/stop")
    wait(client, rid)
    stored = _stored(client, rid)
    assert got == stored[3:3 + len(got)] and mid == stored[10:10 + len(mid)]
