"""Sweep storage: one row per sweep, one per trial (its run id, params, state and value).

A sweep left `running` by a server that stopped becomes `interrupted` at the next start, with
its finished trials kept; trials still running then are `interrupted` like their runs.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Callable

import sqlalchemy as sa

from blocklab.runs.store import now
from blocklab.store.metadata import metadata

sweeps = sa.Table(
    "sweeps",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),  # running/completed/stopped/failed/interrupted
    sa.Column("request", sa.Text, nullable=False),  # the SweepCreate JSON (its run body included)
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("error", sa.Text),
)

sweep_trials = sa.Table(
    "sweep_trials",
    metadata,
    sa.Column("sweep_id", sa.String(32), sa.ForeignKey("sweeps.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.String(32)),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # running/completed/pruned/failed/stopped/interrupted
    sa.Column("value", sa.Float),  # the metric at the trial's end (or when pruned)
    sa.Column("epoch", sa.Integer),  # the last epoch reported
    sa.Column("error", sa.Text),  # why a trial could not run
)

LIVE = "running"
FINAL = ("completed", "stopped", "failed", "interrupted")
INTERRUPTED = "the server stopped while the sweep was running"
log = logging.getLogger("blocklab.runs")


def ending(sweep_id: str, drive: Callable[[], tuple[str, str | None]],
           shutting_down: Callable[[], bool]) -> tuple[str, str | None]:
    """A sweep thread's (status, error): its driver's, or `failed` with the reason when the
    driver itself raised (the server goes on), or `interrupted` when the server is stopping."""
    try:
        status, error = drive()
    except Exception as e:
        log.exception("sweep %s failed", sweep_id)
        status, error = "failed", f"{type(e).__name__}: {e}"[:2000]
    if shutting_down():
        status, error = "interrupted", INTERRUPTED
    return status, error


def finite(v) -> float | None:
    """A metric value as stored: a finite number, else None."""
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def insert(engine: sa.Engine, values: dict) -> None:
    with engine.begin() as c:
        c.execute(sweeps.insert().values(**values))


def finish(engine: sa.Engine, sweep_id: str, status: str, error: str | None = None) -> None:
    """The sweep's final status; trials still running end as interrupted (shutdown) or stopped."""
    with engine.begin() as c:
        c.execute(sweep_trials.update().where(sweep_trials.c.sweep_id == sweep_id, sweep_trials.c.state == LIVE)
                  .values(state="interrupted" if status == "interrupted" else "stopped"))
        c.execute(sweeps.update().where(sweeps.c.id == sweep_id, sweeps.c.status == LIVE)
                  .values(status=status, error=error, finished_at=now()))


def put_trial(engine: sa.Engine, sweep_id: str, number: int, **values) -> None:
    with engine.begin() as c:
        done = c.execute(sweep_trials.update().where(sweep_trials.c.sweep_id == sweep_id,
                                                     sweep_trials.c.number == number).values(**values)).rowcount
        if not done:
            c.execute(sweep_trials.insert().values(sweep_id=sweep_id, number=number, **values))


def _trial(r) -> dict:
    return {"number": r.number, "run_id": r.run_id, "params": json.loads(r.params), "state": r.state,
            "value": r.value, "epoch": r.epoch, "error": r.error}


def _sweep(r, trials: list[dict] | None) -> dict:
    req = json.loads(r.request)
    out = {"id": r.id, "name": r.name, "status": r.status, "metric": req["metric"], "direction": r.direction,
           "trials_total": req["trials"], "space": req["space"], "created_at": r.created_at,
           "finished_at": r.finished_at, "error": r.error}
    if trials is not None:
        out["trials"] = trials
        scored = [t for t in trials if t["state"] == "completed" and t["value"] is not None]
        pick = max if r.direction == "maximize" else min
        out["best"] = pick(scored, key=lambda t: t["value"]) if scored else None
    return out


def get(engine: sa.Engine, sweep_id: str) -> dict | None:
    with engine.connect() as c:
        r = c.execute(sweeps.select().where(sweeps.c.id == sweep_id)).first()
        if r is None:
            return None
        rows = c.execute(sweep_trials.select().where(sweep_trials.c.sweep_id == sweep_id)
                         .order_by(sweep_trials.c.number)).all()
    return _sweep(r, [_trial(t) for t in rows])


def request_of(engine: sa.Engine, sweep_id: str) -> dict | None:
    with engine.connect() as c:
        text = c.execute(sa.select(sweeps.c.request).where(sweeps.c.id == sweep_id)).scalar()
    return json.loads(text) if text else None


def list_all(engine: sa.Engine, limit: int = 200) -> list[dict]:
    with engine.connect() as c:
        rows = c.execute(sweeps.select().order_by(sweeps.c.created_at.desc()).limit(limit)).all()
    return [_sweep(r, None) for r in rows]


def mark_interrupted(engine: sa.Engine) -> list[str]:
    with engine.begin() as c:
        ids = [r.id for r in c.execute(sa.select(sweeps.c.id).where(sweeps.c.status == LIVE))]
        if ids:
            c.execute(sweep_trials.update().where(sweep_trials.c.sweep_id.in_(ids), sweep_trials.c.state == LIVE)
                      .values(state="interrupted"))
            c.execute(sweeps.update().where(sweeps.c.id.in_(ids))
                      .values(status="interrupted", error=INTERRUPTED, finished_at=now()))
    return ids
