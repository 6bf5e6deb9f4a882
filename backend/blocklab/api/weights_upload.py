"""POST /api/weights: upload a safetensors state_dict for a design (sent as JSON in the
`graph` form field, or a saved design's `graph_id`), to start runs from: init_weights=<id>."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from blocklab.api import graph_source
from blocklab.api.errors import invalid, problem, responses
from blocklab.runs import weights
from blocklab.settings import Settings

router = APIRouter(tags=["runs"])


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
        raise invalid("file too large", [problem("file", f"the file is over {settings.max_upload_bytes:,} bytes")])
    if (graph_id is None) == (graph is None):
        raise invalid("give exactly one of graph and graph_id", [problem("graph", "give exactly one of graph and graph_id")])
    doc = await run_in_threadpool(graph_source.resolve, request.app.state.engine, graph, graph_id)
    try:
        want = await run_in_threadpool(weights.expected, doc)
        tensors = await run_in_threadpool(weights.parse, raw, want)
    except weights.WeightsError as e:
        raise invalid("the weights do not fit the design", [problem("file", m) for m in e.errors]) from None
    except Exception as e:  # the graph cannot be built
        raise invalid("the graph is invalid", [problem("graph", str(e)[:500])]) from None
    return await run_in_threadpool(weights.save, settings.data_dir, tensors, file.filename or "weights", doc.name)
