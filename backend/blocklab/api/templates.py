"""GET /api/templates: ready-made designs (D2L's examples and trainable starters)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(tags=["catalog"])


class Template(BaseModel):
    id: str
    title: str
    description: str
    graph: dict[str, Any]
    train: dict[str, Any] | None = None


ORDER = [
    "spirals_playground", "linear_regression", "lenet_digits", "resnet_digits",
    "d2l_sequential", "d2l_mlp", "d2l_nestmlp", "d2l_chimera", "d2l_tied", "d2l_rgnet",
    "d2l_centered", "d2l_mylinear", "d2l_fixedhidden", "d2l_fancymlp",
]


@lru_cache
def load_templates() -> list[dict]:
    files = resources.files("blocklab") / "templates"
    found = {f.name.removesuffix(".json"): json.loads(f.read_text()) for f in files.iterdir() if f.name.endswith(".json")}
    return [found[k] for k in sorted(found, key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), k))]


@router.get("/templates", response_model=list[Template], response_model_exclude_none=True)
def list_templates() -> list[dict]:
    return load_templates()
