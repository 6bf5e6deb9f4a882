"""Dependencies shared by the routes: settings, the engine, and fetch-or-404."""

from __future__ import annotations

import inspect
from typing import Annotated, Callable

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Path, Query, Request

from blocklab.graph.analyze import Limits
from blocklab.settings import Settings
from blocklab.store import designs


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> sa.Engine:
    return request.app.state.engine


def get_limits(settings: Annotated[Settings, Depends(get_settings)]) -> Limits:
    return Limits(max_nodes=settings.max_nodes, max_params=settings.max_params, max_train_bytes=settings.max_train_bytes)


Engine = Annotated[sa.Engine, Depends(get_engine)]
Cfg = Annotated[Settings, Depends(get_settings)]
GraphLimits = Annotated[Limits, Depends(get_limits)]


def fetch_or_404(load: Callable[[sa.Engine, str], dict | None], what: str, param: str):
    """A dependency that loads the resource named by path parameter `param`, or answers 404."""

    def dependency(engine: sa.Engine, key: str) -> dict:
        found = load(engine, key)
        if found is None:
            raise HTTPException(404, f"no {what} with id '{key}'")
        return found

    # Real annotation objects (not strings): the path parameter's name varies per resource.
    P = inspect.Parameter
    dependency.__signature__ = inspect.Signature([
        P("engine", P.POSITIONAL_OR_KEYWORD, annotation=Engine),
        P("key", P.POSITIONAL_OR_KEYWORD, annotation=Annotated[str, Path(alias=param, max_length=64)]),
    ])
    return Depends(dependency)


Design = Annotated[dict, fetch_or_404(designs.get, "saved design", "graph_id")]


# SQLite and PostgreSQL integers are 64-bit: a larger number in a query would fail in the
# database driver (a 500), so every id or count there is range-checked first (422).
MAX_INT64 = 2**63 - 1
Seq = Annotated[int, Query(ge=0, le=MAX_INT64, description="a stream message sequence number")]
