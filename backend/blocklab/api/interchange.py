"""POST /api/import/onnx, POST /api/export/onnx and POST /api/export/keras: models in and out.

Routes only translate; the importers and exporters live in blocklab.importers. The onnx
packages are an extra (`pip install 'blocklab[interchange]'`): without them the app starts
and these routes answer 501 naming it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from blocklab.api.deps import Engine, GraphLimits
from blocklab.api.errors import responses
from blocklab.graph.analyze import Analysis, Limits, analyze
from blocklab.graph.document import GraphDoc
from blocklab.runs import checkpoints, store, weights
from blocklab.settings import Settings

router = APIRouter(tags=["interchange"])
_ERR = {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}
_501 = {501: {"description": "the optional dependency is not installed; `detail` names the extra", "content": _ERR}}


class Unsupported(BaseModel):
    node: str = Field(description="the ONNX node's name (or its first output's)")
    op: str = Field(description="the ONNX operator type")
    reason: str | None = None


class OnnxImported(BaseModel):
    graph: dict[str, Any] = Field(description="the design; an operator without a block is a node of type onnx.<Op>")
    weights_id: str | None = Field(description="the file's weights as an upload for init_weights; null while "
                                   "anything is unsupported")
    unsupported: list[Unsupported]


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    graph: GraphDoc | None = Field(None, description="the design; may be left out with run_id (the run's own design)")
    run_id: str | None = Field(None, max_length=64, description="include this run's trained weights")
    which: Literal["last", "best"] = Field("last", description="which checkpoint of the run")


def _invalid(message: str, field: str | None, node: str | None = None) -> HTTPException:
    return HTTPException(422, {"message": message, "errors": [{"node": node, "field": field, "message": message}]})


def _missing(e: Exception) -> HTTPException:
    return HTTPException(501, str(e))


@router.post("/import/onnx", response_model=OnnxImported, responses={**responses(413, 422), **_501})
async def import_onnx(request: Request, file: Annotated[UploadFile, File(description="an .onnx model (one file)")]) -> dict:
    """Parse an ONNX model (nothing in it runs) into a design and an uploaded weights set."""
    from blocklab.importers.onnx_export import MissingExtra, require

    settings: Settings = request.app.state.settings
    try:
        require("onnx")
    except MissingExtra as e:
        raise _missing(e) from None
    raw = await file.read(settings.max_upload_bytes + 1)
    if len(raw) > settings.max_upload_bytes:
        raise HTTPException(413, f"the file is over {settings.max_upload_bytes:,} bytes (BLOCKLAB_MAX_UPLOAD_BYTES)")
    name = (file.filename or "onnx").rsplit(".", 1)[0] or "onnx"
    return await run_in_threadpool(_import, raw, name, settings)


def _import(raw: bytes, name: str, settings: Settings) -> dict:
    from blocklab.importers.onnx_import import OnnxInvalid, from_onnx

    try:
        result = from_onnx(raw, name)
    except OnnxInvalid as e:
        raise _invalid(str(e), "file") from None
    weights_id = None
    try:
        doc = GraphDoc.model_validate(result.graph)
    except ValidationError as e:  # a size or name no document can hold (e.g. an id over 128 characters)
        raise _invalid(f"the model maps to no valid design: {str(e)[:300]}", "file") from None
    if not result.unsupported and analyze(doc, _limits(settings)).ok:
        try:
            tensors = weights.check(result.weights, weights.expected(doc))
        except weights.WeightsError as e:  # the importer's mapping is wrong: say so, never store wrong weights
            raise _invalid(f"the file's weights do not fit the imported design: {e}", "file") from None
        weights_id = weights.save(settings.data_dir, tensors, f"{name}.onnx", doc.name)["id"]
    return {"graph": result.graph, "weights_id": weights_id, "unsupported": result.unsupported}


def _limits(s: Settings) -> Limits:
    return Limits(max_nodes=s.max_nodes, max_params=s.max_params, max_train_bytes=s.max_train_bytes)


def _design(body: ExportIn, engine: sa.Engine, limits: Limits, settings: Settings,
            weights: bool = True) -> tuple[GraphDoc, Analysis, dict | None]:
    """The document, its analysis and (with run_id) the run's checkpoint; HTTP errors otherwise."""
    run = None
    if body.run_id is not None:
        run = store.get(engine, body.run_id)
        if run is None:
            raise HTTPException(404, f"no run with id '{body.run_id}'")
    doc = body.graph
    if doc is None:
        if run is None:
            raise _invalid("give graph, or run_id to export a run's own design", "graph")
        try:
            doc = GraphDoc.model_validate(run["graph"])
        except ValidationError:
            raise _invalid("the run's design is not a valid graph document", "run_id") from None
    analysis = analyze(doc, limits)
    if not analysis.ok:
        errors = [e.to_json() for e in analysis.errors if e.severity == "error"]
        raise HTTPException(422, {"message": "the graph is invalid", "errors": errors})
    state = None
    if run is not None and weights:
        try:
            state = checkpoints.parse(checkpoints.path(settings.data_dir, run["id"], body.which).read_bytes())
        except FileNotFoundError:
            raise HTTPException(409, f"run '{run['id']}' has no {body.which} checkpoint yet (status {run['status']})") from None
    return doc, analysis, state


def _filename(doc: GraphDoc, ext: str) -> dict[str, str]:
    name = "".join(c for c in doc.name if c.isalnum() or c in "_-") or "model"
    return {"Content-Disposition": f'attachment; filename="{name}.{ext}"'}


@router.post("/export/onnx", responses={
    200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
          "description": "the .onnx file (opset 18, dynamic batch; inputs and outputs named after the nodes)"},
    404: {"description": "no such run", "content": _ERR}, 409: {"description": "the run has no such checkpoint", "content": _ERR},
    422: {"description": "the body or graph is invalid, or the design cannot be exported (names the node)", "content": _ERR},
    **_501})
def export_onnx(body: ExportIn, request: Request, engine: Engine, limits: GraphLimits) -> Response:
    from blocklab.importers.onnx_export import ExportFailed, MissingExtra, require, to_onnx

    try:
        require("onnx", "onnxscript")
    except MissingExtra as e:
        raise _missing(e) from None
    doc, analysis, state = _design(body, engine, limits, request.app.state.settings)
    try:
        data = to_onnx(analysis, doc.name, state)
    except ExportFailed as e:
        raise HTTPException(422, {"message": str(e), "errors": [{"node": e.node, "field": None, "message": str(e)}]}) from None
    except RuntimeError as e:  # load_state_dict: the run's weights belong to another design
        raise _invalid(f"the run's weights do not fit this graph: {str(e)[:300]}", "run_id") from None
    return Response(data, media_type="application/octet-stream", headers=_filename(doc, "onnx"))


@router.post("/export/keras", response_class=PlainTextResponse, responses={
    200: {"content": {"text/x-python": {"schema": {"type": "string"}}},
          "description": "Keras 3 source: a keras.Model subclass `Model` and load_blocklab_state_dict(model, state_dict)"},
    404: {"description": "no such run", "content": _ERR},
    422: {"description": "the body or graph is invalid, or a node has no Keras counterpart (each one named)",
          "content": _ERR}})
def export_keras(body: ExportIn, request: Request, engine: Engine, limits: GraphLimits) -> PlainTextResponse:
    """Keras 3 source for the design (run_id alone: the run's own design); weights load at run time."""
    from blocklab.importers.keras_export import KerasUnsupported, generate_keras

    doc, analysis, _ = _design(body, engine, limits, request.app.state.settings, weights=False)
    try:
        src = generate_keras(analysis, doc.name)
    except KerasUnsupported as e:
        raise HTTPException(422, {"message": "some blocks have no Keras counterpart", "errors": e.errors}) from None
    return PlainTextResponse(src, media_type="text/x-python", headers=_filename(doc, "keras.py"))
