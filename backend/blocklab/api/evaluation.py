"""GET /api/runs/{id}/evaluation: confusion matrix and per-class accuracy, or predicted vs true."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from blocklab.api.errors import responses
from blocklab.api.deps import Cfg
from blocklab.api.run_deps import Run
from blocklab.runs.evaluate import EvalError, evaluate

router = APIRouter(tags=["runs"])


class Evaluation(BaseModel):
    task: Literal["classification", "regression"]
    which: Literal["last", "best"]
    split: Literal["val"]
    n: int
    classes: list[str] | None = None
    matrix: list[list[int]] | None = None  # [true class][predicted class]
    per_class: list[dict[str, Any]] | None = None  # class, support, correct, accuracy (recall), precision
    accuracy: float | None = None
    targets: int | None = None
    true: list[list[float]] | None = None  # [samples][targets], an even spread of at most `limit`
    predicted: list[list[float]] | None = None
    mse: float | None = None
    mae: float | None = None
    r2: list[float | None] | None = None


@router.get("/runs/{run_id}/evaluation", response_model=Evaluation, response_model_exclude_none=True,
            responses=responses(404, 409, 422))
def run_evaluation(run: Run, settings: Cfg,
                   which: Annotated[Literal["last", "best"], Query()] = "best",
                   limit: Annotated[int, Query(ge=1, le=20_000, description="regression: most pairs returned")] = 2000) -> dict:
    """The run's checkpoint (best, else last) on its validation split; 409 before any checkpoint."""
    try:
        return evaluate(run, settings.data_dir, which, limit)
    except EvalError as e:
        raise HTTPException(e.status, str(e)) from None
