"""The batch writer: one thread owns every write of stream messages and run-row updates.

Producers (the training threads) only append to a queue. The writer commits what has
gathered at most every `interval` seconds (or every `max_batch` items) in one transaction,
so a run never costs one database write per step, and SQLite sees a single writer.
Callbacks queued with `after` run once everything queued before them is committed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable

import sqlalchemy as sa

from blocklab.runs import store

log = logging.getLogger("blocklab.runs")
_STOP = object()


class Writer:
    def __init__(self, engine: sa.Engine, interval: float = 0.25, max_batch: int = 2000,
                 committed: Callable[[str, int], None] | None = None):
        self.engine, self.interval, self.max_batch = engine, interval, max_batch
        self.committed = committed  # (run id, highest seq) after each commit
        self.q: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="blocklab-writer", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def event(self, run_id: str, seq: int, type_: str, text: str) -> None:
        self.q.put(("e", {"run_id": run_id, "seq": seq, "type": type_, "data": text}))

    def update(self, run_id: str, **values) -> None:
        self.q.put(("u", (run_id, values)))

    def after(self, fn: Callable[[], None]) -> None:
        self.q.put(("c", fn))

    def close(self, timeout: float = 10.0) -> None:
        self.q.put(_STOP)
        self.thread.join(timeout)

    def flush(self) -> None:
        """Block until everything queued so far is committed (tests, shutdown)."""
        done = threading.Event()
        self.after(done.set)
        done.wait(30)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self.q.get()
            batch = [item]
            deadline = time.monotonic() + self.interval
            while len(batch) < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(self.q.get(timeout=left))
                except queue.Empty:
                    break
                if batch[-1] is _STOP or batch[-1][0] == "c":
                    break  # commit now: someone waits on it
            if batch[-1] is _STOP:
                stopping = True
                batch.pop()
            self._commit(batch)

    def _commit(self, batch: list) -> None:
        events, updates, calls = [], [], []
        for kind, payload in batch:
            if kind == "e":
                events.append(payload)
            elif kind == "u":
                # Updates after an event of the same batch are still applied after it: the
                # events go first, and an update never depends on a later event.
                updates.append(payload)
            else:
                calls.append(payload)
        try:
            if events or updates:
                store.write_batch(self.engine, events, updates)
            if self.committed is not None:
                top: dict[str, int] = {}
                for e in events:
                    top[e["run_id"]] = max(top.get(e["run_id"], 0), e["seq"])
                for rid, seq in top.items():
                    self.committed(rid, seq)
        except Exception:  # never let the writer die; what failed is logged
            log.exception("writing %d run messages failed", len(events))
        for fn in calls:
            try:
                fn()
            except Exception:
                log.exception("writer callback failed")
