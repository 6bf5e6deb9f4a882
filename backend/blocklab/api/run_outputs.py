"""What a run produced: GET /api/runs/{id}/metrics, GET /api/runs/{id}/state_dict and
POST /api/runs/{id}/predict."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response

from blocklab.api.deps import Cfg, Engine, Seq
from blocklab.api.download import attachment
from blocklab.api.errors import invalid, problem, responses
from blocklab.api.run_deps import Manager, Run
from blocklab.runs import checkpoints, store
from blocklab.runs.predict import PredictError, PredictIn, predict
from blocklab.train.messages import StreamMessage

router = APIRouter(tags=["runs"])


@router.get("/runs/{run_id}/metrics", response_model=list[StreamMessage], responses=responses(404, 422))
def run_metrics(run: Run, engine: Engine, manager: Manager, after: Seq = 0,
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
    name = f"{run['id'][:8]}_{which}.{format}"
    return Response(data, media_type="application/octet-stream", headers=attachment(name, name))


@router.post("/runs/{run_id}/predict", responses=responses(404, 409, 413, 422))
def run_predict(run: Run, body: PredictIn, settings: Cfg) -> dict:
    try:
        return predict(run, settings.data_dir, body, settings.max_train_bytes)
    except PredictError as e:
        if e.status == 422:
            raise invalid("cannot predict", [problem(e.field, str(e))]) from None
        raise HTTPException(e.status, str(e)) from None
