"""Runs: POST/GET /api/runs, GET/DELETE /api/runs/{id}, stop, metrics, state_dict, predict, the
websocket stream, and POST /api/weights (upload safetensors for a design).

Routes only translate: the plan (runs.plan), the manager (runs.manager), the hub
(runs.hub) and the stores do the work.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Annotated, Any, Literal

from fastapi import (APIRouter, Depends, File, Form, HTTPException, Path, Query, Request, Response, UploadFile,
                     WebSocket, WebSocketDisconnect)
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from blocklab.api.deps import Engine, GraphLimits, fetch_or_404, get_settings
from blocklab.api.errors import responses
from blocklab.api.transport import abort
from blocklab.graph.document import GraphDoc
from blocklab.runs import checkpoints, store, weights
from blocklab.runs.hub import pump
from blocklab.runs.manager import Busy, QueueFull, Refused, RunManager
from blocklab.runs.plan import PlanError, RunCreate, prepare
from blocklab.runs.predict import PredictError, PredictIn, predict
from blocklab.settings import Settings
from blocklab.store import designs
from blocklab.train.messages import StreamMessage

router = APIRouter(tags=["runs"])
Cfg = Annotated[Settings, Depends(get_settings)]


_lock = threading.Lock()


def manager_for(app) -> RunManager:
    """The app's run manager, started on first use (the lifespan starts it; an app driven
    without its lifespan, as some test harnesses do, gets one on its first request)."""
    m = getattr(app.state, "runs", None)
    if m is None:
        with _lock:
            m = getattr(app.state, "runs", None)
            if m is None:
                m = RunManager(app.state.settings, app.state.engine)
                m.start()
                app.state.runs = m
    return m


async def startup(app) -> None:
    await run_in_threadpool(manager_for, app)
    app.state.runs.hub.bind(asyncio.get_running_loop())


async def shutdown(app) -> None:
    m = getattr(app.state, "runs", None)
    if m is not None:
        await run_in_threadpool(m.shutdown)


def get_manager(request: Request) -> RunManager:
    return manager_for(request.app)


Manager = Annotated[RunManager, Depends(get_manager)]


Run = Annotated[dict, fetch_or_404(store.get, "run", "run_id")]


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


def _invalid(message: str, errors: list[dict]) -> HTTPException:
    return HTTPException(422, {"message": message, "errors": errors})


@router.post("/runs", status_code=201, response_model=RunCreated, responses=responses(413, 422, 429))
def create_run(body: RunCreate, engine: Engine, limits: GraphLimits, settings: Cfg, manager: Manager,
               response: Response) -> dict:
    doc = body.graph
    design = designs.get(engine, body.graph_id) if body.graph_id is not None else None
    if body.graph_id is not None and design is None:
        raise _invalid("the run configuration is invalid",
                       [{"node": None, "field": "graph_id", "message": f"no saved design with id '{body.graph_id}'"}])
    if doc is None:
        if design is None:
            raise _invalid("the run configuration is invalid",
                           [{"node": None, "field": "graph_id", "message": f"no saved design with id '{body.graph_id}'"}])
        try:
            doc = GraphDoc.model_validate(design["graph"])
        except ValidationError:
            raise _invalid("the saved design is not a valid graph document",
                           [{"node": None, "field": "graph_id", "message": "the saved design is malformed"}]) from None
    try:
        plan = prepare(body, doc, limits, settings.data_dir, manager.runner.cuda_available)
    except PlanError as e:
        raise _invalid(e.message, e.errors) from None
    try:
        rid = manager.submit(plan)
    except Refused as e:  # the runner can never run it (e.g. no cluster node has a GPU)
        raise _invalid(e.message, e.errors) from None
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


@router.get("/runs/{run_id}/metrics", response_model=list[StreamMessage], responses=responses(404, 422))
def run_metrics(run: Run, engine: Engine, manager: Manager,
                after: Annotated[int, Query(ge=0)] = 0,
                type: Annotated[str | None, Query(max_length=16, description="only messages of this type")] = None):
    """The stream's messages so far (seq > after): from memory while the run is live, else stored."""
    live = manager.hub.messages(run["id"])
    first, texts = live if live is not None else (None, [])
    upto = None if first is None else first - 1
    older = [t for chunk in store.events_after(engine, run["id"], after, upto) for _, t in chunk]
    msgs = [json.loads(t) for t in older + texts]
    return Response(json.dumps([m for m in msgs if m["seq"] > after and (type is None or m["type"] == type)]),
                    media_type="application/json")


@router.get("/runs/{run_id}/state_dict",
            responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "the weights file"}, **responses(404, 409, 422)})
def download_weights(run: Run, settings: Cfg,
                     format: Annotated[Literal["pt", "safetensors"], Query()] = "pt",
                     which: Annotated[Literal["last", "best"], Query()] = "last") -> Response:
    path = checkpoints.path(settings.data_dir, run["id"], which)
    try:  # read, never check-then-read: a run deleted in between must not become a 500
        raw = path.read_bytes()
    except FileNotFoundError:
        raise HTTPException(409, f"run '{run['id']}' has no {which} checkpoint yet (status {run['status']})") from None
    data = raw if format == "safetensors" else checkpoints.as_pt(checkpoints.parse(raw))
    name = f"{run['id'][:8]}_{which}.{'pt' if format == 'pt' else 'safetensors'}"
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/runs/{run_id}/predict", responses=responses(404, 409, 413, 422))
def run_predict(run: Run, body: PredictIn, settings: Cfg) -> dict:
    try:
        return predict(run, settings.data_dir, body, settings.max_train_bytes)
    except PredictError as e:
        if e.status == 422:
            raise _invalid("cannot predict", [{"node": None, "field": e.field, "message": str(e)}]) from None
        raise HTTPException(e.status, str(e)) from None


@router.post("/weights", status_code=201, responses=responses(413, 422))
async def upload_weights(
    request: Request,
    file: Annotated[UploadFile, File(description="a .safetensors state_dict")],
    graph_id: Annotated[str | None, Form(max_length=64)] = None,
    graph: Annotated[str | None, Form(max_length=50_000_000, description="the graph document as JSON")] = None,
) -> dict:
    """Weights for a design, to evaluate (epochs 0) or continue training: POST /api/runs with init_weights=<id>."""
    settings: Settings = request.app.state.settings
    raw = await file.read(settings.max_upload_bytes + 1)
    if len(raw) > settings.max_upload_bytes:
        raise _invalid("file too large", [{"node": None, "field": "file",
                                           "message": f"the file is over {settings.max_upload_bytes:,} bytes"}])
    doc = await run_in_threadpool(_upload_doc, request, graph_id, graph)
    try:
        want = await run_in_threadpool(weights.expected, doc)
        tensors = await run_in_threadpool(weights.parse, raw, want)
    except weights.WeightsError as e:
        raise _invalid("the weights do not fit the design", [{"node": None, "field": "file", "message": m} for m in e.errors]) from None
    except Exception as e:  # the graph cannot be built
        raise _invalid("the graph is invalid", [{"node": None, "field": "graph", "message": str(e)[:500]}]) from None
    return await run_in_threadpool(weights.save, settings.data_dir, tensors, file.filename or "weights", doc.name)


def _upload_doc(request: Request, graph_id: str | None, graph: str | None) -> GraphDoc:
    if (graph_id is None) == (graph is None):
        raise _invalid("give exactly one of graph and graph_id", [{"node": None, "field": "graph", "message": "give exactly one of graph and graph_id"}])
    if graph_id is not None:
        d = designs.get(request.app.state.engine, graph_id)
        if d is None:
            raise _invalid("unknown design", [{"node": None, "field": "graph_id", "message": f"no saved design with id '{graph_id}'"}])
        graph_obj = d["graph"]
    else:
        try:
            graph_obj = json.loads(graph)
        except ValueError:
            raise _invalid("graph is not JSON", [{"node": None, "field": "graph", "message": "graph must be a JSON graph document"}]) from None
    try:
        return GraphDoc.model_validate(graph_obj)
    except ValidationError as e:
        raise _invalid("graph is not a graph document",
                       [{"node": None, "field": "graph", "message": str(e)[:500]}]) from None


@router.websocket("/runs/{run_id}/stream")
async def stream(ws: WebSocket, run_id: str, after: int = 0) -> None:
    """Messages with seq > after: the stored/remembered ones first, then live ones; closes after
    the final status of a finished run. Close codes: 4404 unknown run, 4008 viewer too slow,
    4429 too many viewers of this run (BLOCKLAB_MAX_VIEWERS_PER_RUN)."""
    app = ws.app
    manager = manager_for(app)
    manager.hub.bind(asyncio.get_running_loop())
    await ws.accept()
    if after < 0:
        await ws.close(4422, "after must be >= 0")
        return
    if len(run_id) > 64:
        await ws.close(4404, "unknown run")
        return
    if manager.hub.viewer_count(run_id) >= app.state.settings.max_viewers_per_run:
        await ws.close(4429, f"this run already has {app.state.settings.max_viewers_per_run} viewers")
        return
    viewer = manager.hub.subscribe(run_id, after)
    try:
        if viewer is None:
            run = await run_in_threadpool(store.get, app.state.engine, run_id, False)
            if run is None:
                await ws.close(4404, "unknown run")
                return
            viewer = manager.hub.subscribe(run_id, after)  # it may have started meanwhile (never: runs start here)
        if viewer is None:
            chunks = await run_in_threadpool(lambda: list(store.events_after(app.state.engine, run_id, after)))
            for chunk in chunks:
                for _, text in chunk:
                    await ws.send_text(text)
            await ws.close(1000)
            return
        if viewer.gap is not None:  # older than memory holds: committed, read them first
            lo, hi = viewer.gap
            rows = await run_in_threadpool(lambda: [r for c in store.events_after(app.state.engine, run_id, lo, hi)
                                                    for r in c])
            for _, text in rows:
                await ws.send_text(text)
        await _pump(ws, viewer)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if viewer is not None:
            manager.hub.unsubscribe(run_id, viewer)


async def _pump(ws: WebSocket, viewer) -> None:
    # One plain await per message (no task per message): 50 viewers cost the loop little.
    async def watch_disconnect():
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass
        viewer.cancel()

    watcher = asyncio.create_task(watch_disconnect())
    try:
        await pump(viewer, ws.send_text, lambda code, reason: ws.close(code, reason), lambda: abort(ws._send),
                   ws.app.state.settings.stream_hopeless_after)
    finally:
        watcher.cancel()
