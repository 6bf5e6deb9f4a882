"""A viewer that never reads its socket is closed once a send has waited a bounded time (4008
when the close frame still fits, else the connection is dropped), instead of holding the
server's memory for as long as the run goes on."""

from __future__ import annotations

import base64
import os
import socket
import time

import httpx

from blocklab.settings import Settings
from live_server import live_server
from runs_fixtures import long_run


def _never_reading_viewer(base: str, rid: str) -> socket.socket:
    """A websocket handshake by hand, with a tiny receive buffer, then silence."""
    host, port = base.removeprefix("http://").split(":")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /api/runs/{rid}/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    return s


def _server_side_established(server_port: int, client_port: int) -> bool:
    """Whether the server still holds its end of this connection open (Linux: /proc/net/tcp)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, remote, state = row.split()[1:4]
            if int(local.rsplit(":", 1)[1], 16) == server_port and int(remote.rsplit(":", 1)[1], 16) == client_port:
                return state == "01"  # ESTABLISHED
    return False


def test_a_viewer_that_never_reads_is_let_go(tmp_path):
    settings = Settings(data_dir=tmp_path, stream_hopeless_after=1.0, stream_queue=16)
    with live_server(settings) as base:
        # Statistics every step: a few kB a message, far more than the socket buffers hold.
        rid = httpx.post(f"{base}/api/runs", json=long_run(stats_every=1, report_interval=0.01)).json()["id"]
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/api/runs/{rid}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        s = _never_reading_viewer(base, rid)
        server_port, client_port = int(base.rsplit(":", 1)[1]), s.getsockname()[1]
        time.sleep(1.0)
        assert _server_side_established(server_port, client_port)  # it is connected and stalled
        time.sleep(4.0)
        assert httpx.post(f"{base}/api/runs/{rid}/stop").status_code in (200, 202)
        deadline = time.monotonic() + 10
        while _server_side_established(server_port, client_port):  # never read, not even now
            assert time.monotonic() < deadline, "the server still holds the stalled viewer's connection"
            time.sleep(0.2)
        s.close()
