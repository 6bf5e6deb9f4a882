"""The Ray runner's log protocol, without a cluster: a job's numbered lines survive chunked
and replayed log tails (each event reported once, in order), and the payload round-trips."""

from __future__ import annotations

import asyncio
import io
import json

from blocklab.runs.protocol import PREFIX, parse_line
from blocklab.runs.ray_job import decode_payload, encode_payload, stdout_printer
from blocklab.runs.runners.ray import RayRun, RayRunner, dashboard_url
from blocklab.runs.runners.ray_logs import _tail_once
from blocklab.settings import Settings


class Sink:
    def __init__(self):
        self.got = []

    def started(self, rid):
        self.got.append(("started",))

    def event_text(self, rid, kind, rest):  # the job's own encoding, after its seq
        self.got.append((kind, {k: v for k, v in json.loads("{" + rest).items() if k != "type"}))

    def progress(self, rid, summary):
        self.got.append(("progress", summary))

    def finished(self, rid, status, error, summary):
        self.got.append(("finished", status))


class FakeClient:
    def __init__(self, log: str, chunk: int):
        self.log, self.chunk = log, chunk

    async def tail_job_logs(self, rid):
        for i in range(0, len(self.log), self.chunk):
            yield self.log[i:i + self.chunk]


def _job_log() -> str:
    out = io.StringIO()
    emit = stdout_printer(out)
    out.write("Runtime env is setting up.\nsome library warning\n")
    emit("started", {"device": "cpu"})
    for step in range(1, 6):
        emit("step", {"step": step, "epoch": 1, "loss": 1.0 / step})
    emit("progress", {"summary": {"steps": 5}})
    emit("end", {"status": "completed", "error": None, "summary": {"steps": 5}})
    return out.getvalue()


def test_chunked_and_replayed_tails_report_each_event_once(tmp_path):
    sink = Sink()
    runner = RayRunner(Settings(data_dir=tmp_path), sink, "http://127.0.0.1:1")
    r, state = RayRun("r1", plan=None), {"last": 0, "summary": {}, "end": None}
    log = _job_log()
    for chunk in (7, 1, len(log)):  # lines split across chunks, then the whole log replayed twice
        asyncio.run(_tail_once(FakeClient(log, chunk), r.id, lambda line: runner._line(r, state, line)))
    assert sink.got == [("started",)] + [("step", {"step": s, "epoch": 1, "loss": 1.0 / s}) for s in range(1, 6)] \
        + [("progress", {"steps": 5})]
    assert state["end"] == {"status": "completed", "error": None, "summary": {"steps": 5}}
    assert r.status == "running"


def test_lines_and_payloads():
    assert parse_line("noise") is None
    assert parse_line(PREFIX + "{not json") is None
    assert parse_line(PREFIX + '{"type": "step"}') is None  # no seq
    assert parse_line("2026 INFO " + PREFIX + '{"seq": 3, "type": "step"}') == {"seq": 3, "type": "step"}
    out = io.StringIO()
    stdout_printer(out)("epoch", {"val_loss": float("nan")})
    assert parse_line(out.getvalue()) == {"seq": 1, "type": "epoch", "val_loss": None}  # strict JSON, as stored
    p = {"graph": {"nodes": []}, "init": None, "config": {"epochs": 3}}
    assert decode_payload(encode_payload(p)) == p


def test_runner_addresses():
    assert dashboard_url("http://10.0.0.5:8265/") == "http://10.0.0.5:8265"
    assert dashboard_url("ray://head:10001") == "http://head:8265"
    assert dashboard_url("head:8265") == "http://head:8265"
