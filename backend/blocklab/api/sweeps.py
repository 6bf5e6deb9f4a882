"""Sweeps: POST/GET /api/sweeps, GET /api/sweeps/{id}, POST /api/sweeps/{id}/stop.

A sweep is Optuna over a run body's fields (runs.sweeps; on a Ray cluster Ray Tune with Optuna's
searcher, runs.sweep_tune); each trial is an ordinary run, so it has its own stream, metrics and
weights under /api/runs/{run_id}.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from blocklab.api.deps import Engine, GraphLimits, fetch_or_404, get_limits
from blocklab.api.errors import responses
from blocklab.api.run_deps import manager_for
from blocklab.runs import sweep_store
from blocklab.runs.runners import Refused
from blocklab.runs.sweep_space import SweepCreate, apply, check
from blocklab.runs.sweeps import SweepManager, TooMany
from blocklab.store import designs

router = APIRouter(tags=["sweeps"])
_lock = threading.Lock()


def sweeps_for(app) -> SweepManager:
    m = getattr(app.state, "sweeps", None)
    if m is None:
        with _lock:
            m = getattr(app.state, "sweeps", None)
            if m is None:
                settings = app.state.settings
                m = SweepManager(manager_for(app), app.state.engine, get_limits(settings), settings.data_dir)
                m.start()
                app.state.sweeps = m
    return m


async def startup(app) -> None:
    await run_in_threadpool(sweeps_for, app)


async def shutdown(app) -> None:
    m = getattr(app.state, "sweeps", None)
    if m is not None:
        await run_in_threadpool(m.shutdown)


def get_sweeps(request: Request) -> SweepManager:
    return sweeps_for(request.app)


Sweeps = Annotated[SweepManager, Depends(get_sweeps)]
Sweep = Annotated[dict, fetch_or_404(sweep_store.get, "sweep", "sweep_id")]


class Trial(BaseModel):
    number: int
    run_id: str | None
    params: dict[str, Any]
    state: Literal["running", "completed", "pruned", "failed", "stopped", "interrupted"]
    value: float | None
    epoch: int | None
    error: str | None = None


class SweepOut(BaseModel):
    id: str
    name: str
    status: Literal["running", "completed", "stopped", "failed", "interrupted"]
    metric: str
    direction: Literal["minimize", "maximize"]
    trials_total: int
    space: dict[str, Any]
    created_at: str
    finished_at: str | None
    error: str | None
    trials: list[Trial] | None = None
    best: Trial | None = None
    best_run: dict[str, Any] | None = None  # the run body with the best trial's params: POST it to /api/runs


class SweepCreated(BaseModel):
    id: str
    status: str


def _body(req: SweepCreate, engine) -> dict:
    body = req.run.model_dump(mode="json", exclude_none=True)
    if req.run.graph is None:  # a saved design: its graph goes in the body, graph_id links the runs to it
        d = designs.get(engine, req.run.graph_id)
        if d is None:
            raise HTTPException(422, {"message": "the sweep is invalid", "errors": [
                {"node": None, "field": "run.graph_id", "message": f"no saved design with id '{req.run.graph_id}'"}]})
        body["graph"] = d["graph"]
    return body


@router.post("/sweeps", status_code=201, response_model=SweepCreated, responses=responses(413, 422, 429))
def create_sweep(req: SweepCreate, engine: Engine, limits: GraphLimits, sweeps: Sweeps, response: Response) -> dict:
    body = _body(req, engine)
    runner = sweeps.runs.runner
    errors = check(req, body, limits, sweeps.data_dir, runner.cuda_available, runner.check)
    if errors:
        raise HTTPException(422, {"message": "the sweep is invalid", "errors": errors})
    try:
        sid = sweeps.create(req, body)
    except TooMany as e:
        raise HTTPException(429, str(e), headers={"Retry-After": "30"}) from None
    except Refused as e:
        raise HTTPException(422, {"message": e.message, "errors": e.errors}) from None
    response.headers["Location"] = f"/api/sweeps/{sid}"
    return {"id": sid, "status": "running"}


@router.get("/sweeps", response_model=list[SweepOut], response_model_exclude_none=True)
def list_sweeps(engine: Engine) -> list[dict]:
    return sweep_store.list_all(engine)


@router.get("/sweeps/{sweep_id}", response_model=SweepOut, responses=responses(404, 422))
def get_sweep(sweep: Sweep, engine: Engine) -> dict:
    if sweep["best"] is not None:
        req = sweep_store.request_of(engine, sweep["id"])
        try:
            sweep["best_run"] = apply(req["run"], sweep["best"]["params"]) if req else None
        except KeyError:  # block arguments of a saved design sent by graph_id only
            sweep["best_run"] = None
    return sweep


@router.post("/sweeps/{sweep_id}/stop", response_model=SweepCreated, responses=responses(404, 422))
def stop_sweep(sweep: Sweep, sweeps: Sweeps) -> dict:
    """Stops launching trials and stops the live ones; the sweep ends `stopped` once they have."""
    live = sweeps.stop(sweep["id"])
    return {"id": sweep["id"], "status": "stopping" if live else sweep["status"]}
