"""Saved designs: POST/GET /api/graphs, GET/PUT/DELETE /api/graphs/{graph_id}.

A draft may be invalid (people save work in progress): only the document's form is checked.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel

from blocklab.api.deps import Design, Engine
from blocklab.api.errors import responses
from blocklab.graph.document import GraphDoc, dump
from blocklab.store import designs

router = APIRouter(tags=["graphs"])


class DesignSummary(BaseModel):
    id: str
    name: str
    created_at: str
    updated_at: str


class DesignOut(DesignSummary):
    """The stored document under `graph`; its fields also sit at the top level for convenience."""

    graph: dict[str, Any]
    version: int = 1
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    blocks: dict[str, Any] = {}


def _out(d: dict) -> dict:
    return {**d["graph"], **d}


def _gone(design_id: str) -> HTTPException:
    # Read, then write: a DELETE may land in between; the write then finds no row.
    return HTTPException(404, f"no saved design with id '{design_id}'")


@router.post("/graphs", status_code=201, response_model=DesignOut, responses=responses(422))
def create_design(doc: GraphDoc, engine: Engine) -> dict:
    return _out(designs.create(engine, doc.name, dump(doc)))


@router.get("/graphs", response_model=list[DesignSummary])
def list_designs(engine: Engine) -> list[dict]:
    return designs.list_all(engine)


@router.get("/graphs/{graph_id}", response_model=DesignOut, responses=responses(404, 422))
def get_design(design: Design) -> dict:
    return _out(design)


@router.put("/graphs/{graph_id}", response_model=DesignOut, responses=responses(404, 422))
def update_design(doc: GraphDoc, design: Design, engine: Engine) -> dict:
    updated = designs.update(engine, design["id"], doc.name, dump(doc))
    if updated is None:
        raise _gone(design["id"])
    return _out(updated)


@router.delete("/graphs/{graph_id}", status_code=204, responses=responses(404, 422))
def delete_design(design: Design, engine: Engine) -> Response:
    if not designs.delete(engine, design["id"]):
        raise _gone(design["id"])
    return Response(status_code=204)
