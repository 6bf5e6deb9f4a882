"""A run's life: POST/GET /api/runs, GET/DELETE /api/runs/{id}, POST /api/runs/{id}/stop.

Routes only translate: the plan (runs.plan) checks, the manager (runs.manager) queues and
trains, the store keeps. What a run produced is in run_outputs, its live stream in
run_stream, weights uploads in weights_upload.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel

from blocklab.api import graph_source
from blocklab.api.deps import Cfg, Engine, GraphLimits
from blocklab.api.errors import invalid, responses
from blocklab.api.run_deps import Manager, Run, shutdown, startup  # noqa: F401 (the app's lifespan calls them)
from blocklab.runs import store
from blocklab.runs.manager import Busy, QueueFull, Refused
from blocklab.runs.plan import PlanError, RunCreate, prepare

router = APIRouter(tags=["runs"])


class RunCreated(BaseModel):
    id: str
    status: str


class RunOut(BaseModel):
    id: str
    name: str
    status: Literal["queued", "running", "completed", "failed", "stopped", "interrupted"]
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: str | None
    device: str | None
    metrics: dict[str, Any] | None
    config: dict[str, Any]
    graph: dict[str, Any] | None = None
    graph_id: str | None = None


@router.post("/runs", status_code=201, response_model=RunCreated, responses=responses(413, 422, 429))
def create_run(body: RunCreate, engine: Engine, limits: GraphLimits, settings: Cfg, manager: Manager,
               response: Response) -> dict:
    doc = graph_source.resolve(engine, body.graph, body.graph_id)
    try:
        plan = prepare(body, doc, limits, settings.data_dir, manager.runner.cuda_available)
    except PlanError as e:
        raise invalid(e.message, e.errors) from None
    try:
        rid = manager.submit(plan)
    except Refused as e:  # the runner can never run it (e.g. no cluster node has a GPU)
        raise invalid(e.message, e.errors) from None
    except QueueFull as e:
        raise HTTPException(429, f"{settings.max_queued_runs} runs are already queued; retry later",
                            headers={"Retry-After": str(e.retry_after)}) from None
    if body.graph_id is not None:
        store.link_design(engine, rid, body.graph_id)
    response.headers["Location"] = f"/api/runs/{rid}"
    return {"id": rid, "status": "queued"}


@router.get("/runs", response_model=list[RunOut], response_model_exclude_none=True)
def list_runs(engine: Engine, graph_id: Annotated[str | None, Query(max_length=64, description="only runs of this saved design")] = None) -> list[dict]:
    return store.list_all(engine, graph_id=graph_id)


@router.get("/runs/{run_id}", response_model=RunOut, responses=responses(404, 422))
def get_run_info(run: Run) -> dict:
    return run


@router.post("/runs/{run_id}/stop", response_model=RunCreated, responses=responses(404, 422))
def stop_run(run: Run, manager: Manager) -> dict:
    manager.stop(run["id"])
    return {"id": run["id"], "status": manager.status_of(run["id"]) or run["status"]}


@router.delete("/runs/{run_id}", status_code=204, responses=responses(404, 409, 422))
def delete_run(run: Run, manager: Manager) -> Response:
    """A finished run and everything stored for it (messages, checkpoints); 409 while it is live."""
    try:
        found = manager.delete(run["id"])
    except Busy as e:
        raise HTTPException(409, str(e)) from None
    if not found:  # a concurrent DELETE won
        raise HTTPException(404, f"no run with id '{run['id']}'")
    return Response(status_code=204)
