"""The event protocol between a training worker and the server, the same for every runner.

A worker (a local worker process, a Ray job) writes one line per message:

    @blocklab {"seq": 7, "type": "step", "step": 120, "epoch": 3, "loss": 0.41}

`seq` counts from 1 within the worker, so a reader that sees a line twice (a reconnected Ray
log tail replays from the start) drops it by seq. Besides the training loop's messages a
worker writes "started", "progress" (the summary after each epoch), "checkpoint" (`which`, and
the safetensors bytes as base64 `data` when the server cannot read the worker's disk) and,
last, "end" (`status`, `error`, `summary`).

Each message is encoded to JSON once, in the worker. The server numbers it in its hub by
swapping the worker's `{"seq": N, ` prefix for its own (`Follower`), so it fans out and stores
the worker's bytes without decoding or re-encoding them; only the rare control messages are
parsed.
"""

from __future__ import annotations

import base64
import json
import math
import threading
from typing import Callable

PREFIX = "@blocklab "
_SEQ = '{"seq": '
_TYPE = '"type": "'
CONTROL = frozenset({"started", "progress", "checkpoint", "end"})


def _clean(v):
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def encode(msg: dict) -> str:
    """Strict JSON: a non-finite float (e.g. a diverged val_loss) becomes null."""
    try:
        return json.dumps(msg, allow_nan=False)
    except ValueError:
        return json.dumps(_clean(msg), allow_nan=False)


class Printer:
    """emit(kind, event) -> one numbered line written to `write` (thread-safe, never interleaved)."""

    def __init__(self, write: Callable[[str], None]):
        self.write, self.seq, self.lock = write, 0, threading.Lock()

    def __call__(self, kind: str, event: dict) -> None:
        with self.lock:
            self.seq += 1
            self.write(PREFIX + encode({"seq": self.seq, "type": kind, **event}) + "\n")


def split(line: str) -> tuple[int, str, str] | None:
    """(worker seq, type, the JSON text after the seq: '"type": ..., ...}') of one line, or
    None for any other line (a worker's own prints, a torn line)."""
    i = line.find(PREFIX)
    if i < 0:
        return None
    text = line[i + len(PREFIX):].rstrip("\n")
    if not text.startswith(_SEQ) or not text.endswith("}"):
        return None
    comma = text.find(", ", len(_SEQ))
    if comma < 0 or not text.startswith(_TYPE, comma + 2):
        return None
    try:
        seq = int(text[len(_SEQ):comma])
    except ValueError:
        return None
    start = comma + 2 + len(_TYPE)
    end = text.find('"', start)
    if end < 0:
        return None
    return seq, text[start:end], text[comma + 2:]


def parse_line(line: str) -> dict | None:
    """A worker's whole message from one line, or None."""
    parts = split(line)
    if parts is None:
        return None
    try:
        msg = json.loads("{" + parts[2])
    except ValueError:
        return None
    return msg | {"seq": parts[0]} if isinstance(msg, dict) else None


class Follower:
    """Applies one worker's lines to the sink, in order, each seq once.

    sink: the run manager (started, event_text, progress, finished are its methods).
    on_checkpoint(which, data bytes): a checkpoint sent through the protocol (Ray without a
        shared data dir); local workers write theirs straight to disk.
    After the worker ends, `end` holds its "end" message (None if it never sent one) and
    `summary` the last progress summary.
    """

    def __init__(self, run_id: str, sink, on_checkpoint: Callable[[str, bytes], None] | None = None,
                 on_started: Callable[[], None] | None = None):
        self.run_id, self.sink = run_id, sink
        self.on_checkpoint, self.on_started = on_checkpoint, on_started
        self.last = 0
        self.summary: dict = {}
        self.end: dict | None = None

    def line(self, line: str) -> None:
        parts = split(line)
        if parts is None or parts[0] <= self.last:
            return
        seq, kind, rest = parts
        self.last = seq
        if kind not in CONTROL:
            self.sink.event_text(self.run_id, kind, rest)  # the worker's bytes, as they are
            return
        try:
            msg = json.loads("{" + rest)
        except ValueError:
            return
        msg.pop("type", None)
        if kind == "started":
            if self.on_started is not None:
                self.on_started()
            self.sink.started(self.run_id)
        elif kind == "progress":
            self.summary = msg.get("summary") or {}
            self.sink.progress(self.run_id, self.summary)
        elif kind == "checkpoint":
            if msg.get("data") and self.on_checkpoint is not None:
                self.on_checkpoint(msg["which"], base64.b64decode(msg["data"]))
        else:
            self.end = msg
