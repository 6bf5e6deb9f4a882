"""The design a request is about: a graph document sent with it, or a saved design's id.

POST /api/runs (a JSON `graph` and/or `graph_id`) and POST /api/weights (a `graph` form
field holding JSON, or `graph_id`) resolve it here, with the same errors.
"""

from __future__ import annotations

import sqlalchemy as sa
from pydantic import ValidationError

from blocklab import jsonin
from blocklab.api.errors import invalid, problem
from blocklab.graph.document import GraphDoc
from blocklab.store import designs


def resolve(engine: sa.Engine, graph: GraphDoc | str | None, graph_id: str | None) -> GraphDoc:
    """`graph` wins when both are given (a run of unsaved edits, linked to its saved design);
    `graph_id` must then still name a saved design. A str `graph` is JSON text (a form field).
    Raises a 422 naming `graph` or `graph_id`."""
    if graph is None and graph_id is None:
        raise invalid("give graph or graph_id", [problem("graph", "give a graph document or the graph_id of a saved design")])
    design = designs.get(engine, graph_id) if graph_id is not None else None
    if graph_id is not None and design is None:
        raise invalid("unknown design", [problem("graph_id", f"no saved design with id '{graph_id}'")])
    if isinstance(graph, GraphDoc):
        return graph
    if isinstance(graph, str):
        try:
            return _document(jsonin.loads(graph), "graph")
        except jsonin.BadJson as e:
            raise invalid("graph is not a JSON graph document", [problem(e.field("graph"), e.message)]) from None
    return _document(design["graph"], "graph_id", "the saved design is not a valid graph document")


def _document(value: object, field: str, message: str = "graph is not a graph document") -> GraphDoc:
    try:
        return GraphDoc.model_validate(value)
    except ValidationError as e:
        errors = [problem(".".join([field, *map(str, d["loc"])]), d["msg"]) for d in e.errors()]
        raise invalid(message, errors) from None
