"""GET /api/blocks and GET /api/inits: the catalogs, straight from the registries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from blocklab.blocks import REGISTRY
from blocklab.blocks.base import Role
from blocklab.graph.inits import INITS

router = APIRouter(tags=["catalog"])


class PortInfo(BaseModel):
    name: str
    optional: bool


class BlockInfo(BaseModel):
    type: str
    category: str
    role: Role = Field(description="input / output: the graph ends; custom: your own code; layer: the rest")
    doc: str
    params_schema: dict[str, Any] = Field(
        description='JSON schema of the params. UI hints: "format": "code" (edit as code, several lines); '
                    '"x-state-keys": "parameter" / "buffer" (the object\'s keys name tensors of the node\'s '
                    'state_dict, <id>.<key>)')
    ports: list[PortInfo]
    parameters: list[str]
    outputs: list[str] = Field(default_factory=list,
                               description="a block with several outputs: their names, which an edge's source_port "
                                           "picks; empty: one output")
    output_param: str | None = Field(None, description="the param choosing the output an edge without a source_port takes")


class InitInfo(BaseModel):
    fn: str
    params_schema: dict[str, Any]


@router.get("/blocks", response_model=list[BlockInfo])
def list_blocks() -> list[BlockInfo]:
    return [
        BlockInfo(
            type=b.name, category=b.category, role=b.role, doc=b.doc, params_schema=b.params.model_json_schema(),
            ports=[PortInfo(name=p.name, optional=p.optional) for p in b.ports], parameters=list(b.parameter_names),
            outputs=list(b.outputs.names) if b.outputs else [], output_param=b.outputs.param if b.outputs else None,
        )
        for b in REGISTRY.values()
    ]


@router.get("/inits", response_model=list[InitInfo])
def list_inits() -> list[InitInfo]:
    return [InitInfo(fn=i.fn, params_schema=i.params.model_json_schema()) for i in INITS.values()]
