"""Dependencies shared by the routes: settings, the engine, and fetch-or-404."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Path, Request

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
GraphLimits = Annotated[Limits, Depends(get_limits)]


def get_design(engine: Engine, graph_id: Annotated[str, Path(max_length=64)]) -> dict:
    design = designs.get(engine, graph_id)
    if design is None:
        raise HTTPException(404, f"no saved design with id '{graph_id}'")
    return design


Design = Annotated[dict, Depends(get_design)]
