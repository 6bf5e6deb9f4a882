"""The stream hub: numbers each run's messages, keeps them in memory while the run is live,
and fans them out to websocket viewers on the event loop.

Threads: `publish` is called from training threads. It appends to the run's log under a
lock and schedules one fan-out callback on the event loop (batched: one callback carries
every message published since the previous one ran). Everything about viewers happens on the
event loop, so viewer queues need no locks.

Replay: a viewer subscribing with `after=N` gets the logged messages with seq > N as a
backlog, then live ones. Memory holds only the newest `keep` messages of a run once older
ones are committed; a viewer asking for older ones gets a `gap` to read from the database
first (every message in it is committed, so replay stays gapless). Snapshot and registration happen together on the loop, and a viewer
drops any seq it already has, so there are no gaps and no duplicates.

Slow viewers: the live queue is bounded. When it overflows, the oldest coalescable message
(step, stats, activations, grid) is dropped; status and epoch messages never are. A viewer
that stays full for `hopeless_after` seconds, or piles up too many uncoalescable messages,
is closed; it may reconnect with ?after=<last seq it got>.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque

from blocklab.runs.protocol import encode  # noqa: F401  (one encoder: workers and the hub)

COALESCABLE = frozenset({"step", "stats", "activations", "grid"})
END = None  # queue sentinel: the stream is over


class Viewer:
    def __init__(self, backlog: list[tuple[int, str, str]], after: int, maxlen: int, hopeless_after: float):
        self.backlog = deque(backlog)
        self.gap: tuple[int, int] | None = None  # (after, last seq to read from the database)
        self.q: deque[tuple[int, str, str]] = deque()
        self.last_seq = backlog[-1][0] if backlog else after  # highest seq queued
        self.sent_seq = after  # highest seq written to the socket
        self.maxlen, self.hopeless_after = maxlen, hopeless_after
        self.wake = asyncio.Event()
        self.ended = False  # END queued (finished run or hopeless)
        self.hopeless = False
        self.cancelled = False  # the client went away
        self.full_since: float | None = None
        self.dropped = 0

    def offer(self, item: tuple[int, str, str]) -> None:
        if self.ended or item[0] <= self.last_seq:
            return
        self.last_seq = item[0]
        self.q.append(item)
        if len(self.q) > self.maxlen:
            self._overflow()
        self.wake.set()

    def _overflow(self) -> None:
        now = time.monotonic()
        self.full_since = self.full_since or now
        for i, (_, t, _) in enumerate(self.q):
            if t in COALESCABLE:
                del self.q[i]
                self.dropped += 1
                break
        if len(self.q) > 4 * self.maxlen or now - self.full_since > self.hopeless_after:
            self.hopeless = True
            self.end()

    def end(self) -> None:
        self.ended = True
        self.wake.set()

    def cancel(self) -> None:
        self.cancelled = True
        self.end()

    async def get(self) -> tuple[int, str, str] | None:
        """The next message to send, or END."""
        while True:
            if self.hopeless or self.cancelled:
                return END
            if self.backlog:
                return self.backlog.popleft()
            if self.q:
                if len(self.q) <= self.maxlen // 2:
                    self.full_since = None
                return self.q.popleft()
            if self.ended:
                return END
            self.wake.clear()
            await self.wake.wait()


async def pump(viewer: Viewer, send, close, drop, send_timeout: float) -> None:
    """Send the viewer's messages until the stream is over. A send that does not complete in
    `send_timeout` seconds (the client stopped reading and the socket's buffers are full), or a
    viewer whose queue stayed full (`hopeless`), ends with close code 4008; the client may
    reconnect with ?after=<the last seq it got>. `send(text)`, `close(code, reason)`: the
    socket's; `drop()` aborts the connection when not even the close frame gets through."""
    while (item := await viewer.get()) is not END:
        try:
            await asyncio.wait_for(send(item[2]), send_timeout)
        except asyncio.TimeoutError:
            viewer.hopeless = True
            break
        viewer.sent_seq = item[0]
    if viewer.hopeless:
        try:  # the close frame may not get through a full socket either: then the server drops it
            await asyncio.wait_for(close(4008, f"viewer too slow; reconnect with ?after={viewer.sent_seq}"), 1.0)
        except asyncio.TimeoutError:
            drop()
    elif not viewer.cancelled:
        await close(1000, "")


class Channel:
    def __init__(self, run_id: str, first_seq: int = 1):
        self.run_id = run_id
        self.lock = threading.Lock()
        self.log: list[tuple[int, str, str]] = []
        self.next_seq = first_seq
        self.viewers: set[Viewer] = set()
        self.outbox: list[tuple[int, str, str]] = []  # published, not yet fanned out
        self.scheduled = False
        self.finished = False
        self.flushed = 0  # highest seq committed to the database


class Hub:
    def __init__(self, maxlen: int = 256, hopeless_after: float = 15.0, keep: int = 2000):
        self.loop: asyncio.AbstractEventLoop | None = None
        self.channels: dict[str, Channel] = {}
        self.lock = threading.Lock()
        self.maxlen, self.hopeless_after, self.keep = maxlen, hopeless_after, keep

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Fan out on this loop (the server's). Messages published before are in the logs."""
        if self.loop is not loop:
            self.loop = loop

    def open(self, run_id: str) -> None:
        with self.lock:
            self.channels[run_id] = Channel(run_id)

    def publish(self, run_id: str, type_: str, payload: dict, final: bool = False) -> tuple[int, str]:
        """Number and log a message; returns (seq, json text). Thread-safe, never blocks on viewers."""
        return self.publish_text(run_id, type_, encode({"type": type_, **payload})[1:], final)

    def publish_text(self, run_id: str, type_: str, rest: str, final: bool = False) -> tuple[int, str]:
        """The same for a message a worker encoded already: `rest` is its JSON text after the
        opening brace, '"type": ..., ...}'. The hub only puts its own seq in front."""
        ch = self.channels[run_id]
        with ch.lock:
            seq = ch.next_seq
            ch.next_seq += 1
            text = f'{{"seq": {seq}, {rest}'
            item = (seq, type_, text)
            ch.log.append(item)
            if len(ch.log) > 2 * self.keep:  # forget committed messages beyond the newest `keep`
                committed = ch.flushed - ch.log[0][0] + 1
                del ch.log[:max(0, min(len(ch.log) - self.keep, committed))]
            ch.outbox.append(item)
            ch.finished = ch.finished or final
            schedule = not ch.scheduled and self.loop is not None
            ch.scheduled = ch.scheduled or schedule
        if schedule:
            try:
                self.loop.call_soon_threadsafe(self._fanout, ch)
            except RuntimeError:  # loop closed (shutdown): nobody is watching
                pass
        return seq, text

    def _fanout(self, ch: Channel) -> None:
        with ch.lock:
            items, ch.outbox, ch.scheduled = ch.outbox, [], False
            finished = ch.finished
        for v in list(ch.viewers):
            for it in items:
                v.offer(it)
            if finished:
                v.end()
            if v.ended:
                ch.viewers.discard(v)

    def subscribe(self, run_id: str, after: int) -> Viewer | None:
        """On the event loop. None when the run is not live here (replay it from the database)."""
        ch = self.channels.get(run_id)
        if ch is None:
            return None
        with ch.lock:
            first = ch.log[0][0] if ch.log else ch.next_seq
            backlog = ch.log[max(0, after - first + 1):]
            # What is still in the outbox is in the backlog already; offer() skips it by seq.
            finished = ch.finished and not ch.outbox
        v = Viewer(backlog, after, self.maxlen, self.hopeless_after)
        if after < first - 1:
            v.gap = (after, first - 1)
            v.last_seq = max(v.last_seq, first - 1)
        if finished:
            v.end()
        else:
            ch.viewers.add(v)
        return v

    def viewer_count(self, run_id: str) -> int:
        ch = self.channels.get(run_id)
        return len(ch.viewers) if ch is not None else 0

    def unsubscribe(self, run_id: str, v: Viewer) -> None:
        ch = self.channels.get(run_id)
        if ch is not None:
            ch.viewers.discard(v)

    def release(self, run_id: str) -> None:
        """Forget a finished run (its messages are all in the database by now)."""
        with self.lock:
            self.channels.pop(run_id, None)

    def committed(self, run_id: str, seq: int) -> None:
        """The writer committed this run's messages up to seq (older ones may leave memory)."""
        ch = self.channels.get(run_id)
        if ch is not None and seq > ch.flushed:
            ch.flushed = seq

    def messages(self, run_id: str) -> tuple[int, list[str]] | None:
        """(first seq held in memory, the texts from there on), or None when the run is not live."""
        ch = self.channels.get(run_id)
        if ch is None:
            return None
        with ch.lock:
            return (ch.log[0][0] if ch.log else ch.next_seq), [t for _, _, t in ch.log]
