"""POST /api/graphs/validate and POST /api/export/python."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from blocklab.api.deps import GraphLimits
from blocklab.api.download import attachment
from blocklab.api.errors import ErrorInfo, responses
from blocklab.graph.analyze import analyze
from blocklab.graph.build import GraphInvalid, source_for
from blocklab.graph.document import GraphDoc

router = APIRouter(tags=["graphs"])


class CopyInfo(BaseModel):
    output_shape: list[int]
    params: int
    args: dict[str, Any]


class NodeInfo(BaseModel):
    output_shape: list[int] | None
    output_shapes: dict[str, list[int]] | None = Field(
        None, description="a block with several outputs: each one's shape, by the name an edge's source_port gives")
    params: int
    shared_with: str | None = None
    calls: str | None = Field(None, description="the node whose module this node calls again")
    absent: bool | None = Field(None, description="true: its when is false here, its input passes through")
    resolved: dict[str, Any] | None = None
    args: dict[str, Any] | None = Field(None, description="a block instance's bound arguments (copy 0 of a repeat)")
    copies: list[CopyInfo] | None = Field(None, description="a repeated instance: each copy's shape, params and args")
    inner: dict[str, "NodeInfo"] | None = None


class ValidationReport(BaseModel):
    ok: bool
    errors: list[ErrorInfo]
    nodes: dict[str, NodeInfo]
    total_params: int


@router.post("/graphs/validate", response_model=ValidationReport, response_model_exclude_unset=True,
             responses=responses(422))
def validate_graph(doc: GraphDoc, limits: GraphLimits) -> dict:
    return analyze(doc, limits).report()


@router.post(
    "/export/python",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/x-python": {"schema": {"type": "string"}}}, "description": "the source"},
        # Declared by hand: with a text response class FastAPI would document errors as text.
        422: {"description": "the body is not a graph, or the graph is invalid",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}},
    },
)
def export_python(doc: GraphDoc, limits: GraphLimits) -> PlainTextResponse:
    try:
        src = source_for(doc, limits)
    except GraphInvalid as e:
        raise HTTPException(422, {"message": "the graph is invalid", "errors": e.errors}) from None
    return PlainTextResponse(src, media_type="text/x-python", headers=attachment(f"{doc.name}.py", "model.py"))
