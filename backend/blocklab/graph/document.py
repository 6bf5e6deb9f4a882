"""The block-graph document (CONTRACT.md section 1) as pydantic models.

These check only the document's form: a body that fails here is not a graph document and
gets a 422. Everything about meaning (types, ids, shapes, ...) is checked by
`blocklab.graph.analyze`, which collects every error with the node at fault.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class InitSpec(BaseModel):
    """An initializer call: {"fn": "normal", "mean": 0, "std": 0.01}."""

    model_config = ConfigDict(extra="allow", strict=True)
    fn: str = Field(max_length=64)


class Node(BaseModel):
    # Visual fields (position, colour, ...) ride along untouched. Strict: 0 is not false.
    model_config = ConfigDict(extra="allow", strict=True)

    id: str = Field(min_length=1, max_length=128)
    type: str = Field(min_length=1, max_length=128)
    params: dict[str, JsonValue] = Field(default_factory=dict)
    shares: str | None = Field(None, max_length=128, description="id of a node whose module (and parameters) this node reuses")
    calls: str | None = Field(None, max_length=128,
                              description="id of a node whose module this node calls again: no attribute, no state_dict key")
    init: dict[str, InitSpec] | None = Field(None, description="parameter name -> initializer")
    trainable: bool = True
    when: str | None = Field(None, max_length=500, description="inside a block: an expression over its args; "
                                                               "false: the node is absent, its input passes through")
    repeat: int | dict[str, str] | None = Field(None, description="an instance: copies chained, each its own parameters; "
                                                        "an int (1-1000) or {\"expr\": ...} over the args")


class Edge(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    source: str = Field(max_length=128)
    source_port: str | None = Field(None, max_length=64,
                                    description="which output of a block that gives several (an LSTM's sequence, h_n, "
                                                "c_n); none: the one its `returns` picks")
    target: str = Field(max_length=128)
    target_port: str | None = Field(None, max_length=64)


class ArgSpec(BaseModel):
    """One argument of a composite block, as a JSON-schema property: {"type": "integer", "default": 64}."""

    model_config = ConfigDict(extra="allow", strict=True)
    type: Literal["integer", "number", "boolean", "string"]
    default: int | float | bool | str
    minimum: int | float | None = None
    maximum: int | float | None = None
    enum: list[str] | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=1000)
    title: str | None = Field(None, max_length=200)


class BlockDef(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    args: dict[str, ArgSpec] | None = Field(None, max_length=64,
                                     description="the block's arguments: name -> JSON-schema property with a default")
    nodes: list[Node] = Field(default_factory=list, max_length=100_000)
    edges: list[Edge] = Field(default_factory=list, max_length=200_000)


class GraphDoc(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    version: Literal[1] = 1
    name: str = Field("untitled", max_length=200)
    nodes: list[Node] = Field(max_length=100_000)
    edges: list[Edge] = Field(default_factory=list, max_length=200_000)
    blocks: dict[str, BlockDef] = Field(default_factory=dict)


def dump(doc: GraphDoc) -> dict[str, Any]:
    return doc.model_dump(mode="json", exclude_none=True)
