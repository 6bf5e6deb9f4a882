"""Reads and writes of the run tables (synchronous; the API calls them in a thread pool)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Iterator

import sqlalchemy as sa

from blocklab.runs.tables import run_events, runs

FINISHED = ("completed", "failed", "stopped", "interrupted")


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _row(r, full: bool = True) -> dict:
    out = {
        "id": r.id, "name": r.name, "status": r.status, "created_at": r.created_at, "started_at": r.started_at,
        "finished_at": r.finished_at, "error": r.error, "device": r.device,
        "metrics": json.loads(r.summary) if r.summary else None,
        "config": json.loads(r.config), "graph_id": r.graph_id,
    }
    if full:
        out["graph"] = json.loads(r.graph)
    return out


def insert(engine: sa.Engine, values: dict) -> None:
    with engine.begin() as c:
        c.execute(runs.insert().values(**values))


def link_design(engine: sa.Engine, run_id: str, graph_id: str) -> None:
    with engine.begin() as c:
        c.execute(runs.update().where(runs.c.id == run_id).values(graph_id=graph_id))


def delete_finished(engine: sa.Engine, run_id: str) -> bool:
    """Remove a finished run's row and stream messages in one transaction; False when there is
    no such finished run. The status condition sits in the DELETE itself, so a live row is never
    removed whatever the caller checked before."""
    with engine.begin() as c:
        gone = c.execute(runs.delete().where(runs.c.id == run_id, runs.c.status.in_(FINISHED))).rowcount > 0
        if gone:  # explicit rather than relying on ON DELETE CASCADE (SQLite enforces it only per connection pragma)
            c.execute(run_events.delete().where(run_events.c.run_id == run_id))
    return gone


def get(engine: sa.Engine, run_id: str, full: bool = True) -> dict | None:
    with engine.connect() as c:
        r = c.execute(runs.select().where(runs.c.id == run_id)).first()
    return _row(r, full) if r else None


def list_all(engine: sa.Engine, limit: int = 200, graph_id: str | None = None) -> list[dict]:
    q = runs.select().order_by(runs.c.created_at.desc()).limit(limit)
    if graph_id is not None:
        q = q.where(runs.c.graph_id == graph_id)
    with engine.connect() as c:
        rows = c.execute(q).all()
    return [_row(r, full=False) for r in rows]


def events_after(engine: sa.Engine, run_id: str, after: int, upto: int | None = None,
                 chunk: int = 2000) -> Iterator[list[tuple[int, str]]]:
    """Stored messages with after < seq (<= upto), in order, in chunks of (seq, json text)."""
    while True:
        cond = [run_events.c.run_id == run_id, run_events.c.seq > after]
        if upto is not None:
            cond.append(run_events.c.seq <= upto)
        with engine.connect() as c:
            rows = c.execute(
                sa.select(run_events.c.seq, run_events.c.data).where(*cond).order_by(run_events.c.seq).limit(chunk)
            ).all()
        if not rows:
            return
        yield [(r.seq, r.data) for r in rows]
        after = rows[-1].seq


INTERRUPTED = "the server stopped while the run was active"


def mark_interrupted(engine: sa.Engine) -> list[str]:
    """Runs left running/queued by a server that died become interrupted; everything they
    recorded stays, and a final status message is appended so their stream ends properly."""
    with engine.begin() as c:
        ids = [r.id for r in c.execute(sa.select(runs.c.id).where(runs.c.status.in_(("running", "queued"))))]
        for rid in ids:
            last = c.execute(sa.select(sa.func.max(run_events.c.seq)).where(run_events.c.run_id == rid)).scalar() or 0
            msg = {"seq": last + 1, "type": "status", "status": "interrupted", "error": INTERRUPTED}
            c.execute(run_events.insert().values(run_id=rid, seq=last + 1, type="status", data=json.dumps(msg)))
            c.execute(runs.update().where(runs.c.id == rid).values(status="interrupted", finished_at=now(), error=INTERRUPTED))
        return ids


def write_batch(engine: sa.Engine, events: list[dict], updates: list[tuple[str, dict]]) -> None:
    """One transaction: stream messages (executemany), then run-row updates in order."""
    with engine.begin() as c:
        if events:
            c.execute(run_events.insert(), events)
        for rid, values in updates:
            c.execute(runs.update().where(runs.c.id == rid).values(**values))
