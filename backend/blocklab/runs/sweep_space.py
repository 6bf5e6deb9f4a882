"""A sweep's request: a run body, a search space over its fields, a budget and a metric.

Space keys are paths into the run body: `lr` (short for `optimizer.lr`), `batch_size`,
`optimizer.weight_decay`, `dataset.params.noise`, ... and `nodes.<id>.<param>` for a block's
argument (`nodes.hidden.out_features`). Each dimension is a range `{low, high, log?, step?}`
(integers when low and high are) or `{choices: [...]}`. `check` builds the run at every corner
of the space (each bound and choice), so a bad key fails at once, naming `space.<key>`.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from blocklab.graph.analyze import Limits
from blocklab.runs.plan import Plan, PlanError, RunCreate, prepare
from blocklab.runs.runners import Refused

ALIASES = {"lr": "optimizer.lr", "momentum": "optimizer.momentum", "weight_decay": "optimizer.weight_decay"}
# Run fields a sweep may vary (the design itself only through nodes.<id>.<param>).
TUNABLE = ("optimizer", "schedule", "batch_size", "epochs", "seed", "dataset")
Metric = Literal["val_loss", "val_accuracy", "train_loss", "best_val_loss"]
MAX_CORNERS = 100
KEY = r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+){0,8}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Range(_Strict):
    low: int | float
    high: int | float
    log: bool = Field(False, description="sample on a log scale (low > 0)")
    step: int | float | None = Field(None, gt=0, description="a grid step (not with log)")

    @model_validator(mode="after")
    def _check(self):
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        if self.log and self.step is not None:
            raise ValueError("give log or step, not both")
        return self

    @property
    def integer(self) -> bool:
        return all(isinstance(v, int) for v in (self.low, self.high)) and (self.step is None or isinstance(self.step, int))

    def corners(self) -> list[Any]:
        return [self.low, self.high]


class Choices(_Strict):
    choices: list[int | float | str | bool | None] = Field(min_length=1, max_length=100)

    def corners(self) -> list[Any]:
        return list(self.choices)


class SweepCreate(_Strict):
    run: RunCreate = Field(description="the run body every trial starts from (as POST /api/runs takes it)")
    space: dict[str, Range | Choices] = Field(min_length=1, max_length=20,
                                              description="run-body path -> range or choices")
    trials: int = Field(8, ge=1, le=1000, description="the budget: how many runs")
    metric: Metric = Field("val_loss", description="the final epoch's value of this is optimized")
    direction: Literal["minimize", "maximize"] | None = Field(None, description="default: maximize accuracy, "
                                                                              "minimize losses")
    parallel: int | None = Field(None, ge=1, le=16, description="trials at once (default: 1 locally; on a Ray "
                                                                 "cluster every slot it has, and never more)")
    prune: bool = Field(True, description="stop trials whose epoch metrics fall behind the median (Optuna; "
                                          "ASHA on a Ray cluster)")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the sampler (TPE)")
    name: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _keys(self):
        import re

        for k in self.space:
            if not re.match(KEY, k):
                raise ValueError(f"space key '{k[:80]}' is not a dotted path of names")
        corners = sum(len(d.corners()) for d in self.space.values())
        if corners > MAX_CORNERS:  # each is checked as a whole run (graph analysis included)
            raise ValueError(f"the space has {corners} bounds and choices; the limit is {MAX_CORNERS}")
        return self

    def goal(self) -> Literal["minimize", "maximize"]:
        return self.direction or ("maximize" if "accuracy" in self.metric else "minimize")


def apply(body: dict, params: dict[str, Any]) -> dict:
    """A copy of the run body (JSON) with each path set to its value."""
    out = copy.deepcopy(body)
    for key, value in params.items():
        path = ALIASES.get(key, key).split(".")
        if path[0] == "nodes":
            if len(path) != 3:
                raise KeyError(f"'{key}': a block argument is nodes.<node id>.<param>")
            if out.get("graph") is None:
                raise KeyError(f"'{key}': block arguments need the run's graph (not only graph_id)")
            node = next((n for n in out["graph"]["nodes"] if n["id"] == path[1]), None)
            if node is None:
                raise KeyError(f"'{key}': the design has no node '{path[1]}'")
            node.setdefault("params", {})[path[2]] = value
            continue
        if path[0] not in TUNABLE:
            raise KeyError(f"'{key}' is not a run field a sweep can vary; use one under {', '.join(TUNABLE)}, "
                           "or nodes.<id>.<param>")
        at = out
        for p in path[:-1]:
            nxt = at.get(p)
            if nxt is None:
                nxt = at[p] = {}
            if not isinstance(nxt, dict):
                raise KeyError(f"'{key}': '{p}' is not an object")
            at = nxt
        at[path[-1]] = value
    return out


def make_plan(body: dict, limits: Limits, data_dir: Path, has_cuda: Callable[[], bool]) -> tuple[RunCreate, Plan]:
    """Validate a trial's run body and check it as POST /api/runs would (ValidationError, PlanError)."""
    run = RunCreate.model_validate(body)
    if run.graph is None:  # the route puts a saved design's graph in the body (graph_id stays, for the link)
        raise PlanError("the run configuration is invalid", [{"node": None, "field": "graph", "message": "give graph"}])
    return run, prepare(run, run.graph, limits, data_dir, has_cuda)


def check(req: SweepCreate, body: dict, limits: Limits, data_dir: Path, has_cuda: Callable[[], bool],
          runner_check: Callable[[Plan], None] = lambda plan: None) -> list[dict]:
    """Every problem of the sweep, each naming `run.<field>` or `space.<key>`; [] when it can run.
    runner_check(plan) raises (runners.Refused) when the runner could never run the trials."""
    def problems(b: dict, prefix: str) -> list[dict]:
        try:
            runner_check(make_plan(b, limits, data_dir, has_cuda)[1])
        except ValidationError as e:
            return [{"node": None, "field": prefix, "message": f"{'.'.join(map(str, d['loc']))}: {d['msg']}"}
                    for d in e.errors()[:5]]
        except (PlanError, Refused) as e:
            return [{"node": x.get("node"), "field": prefix, "message": f"{x.get('field') or 'run'}: {x['message']}"}
                    for x in e.errors[:5]]
        return []

    errors = problems(body, "run")
    if errors:
        return errors
    for key, dim in req.space.items():
        if isinstance(dim, Range) and dim.log and not all(math.isfinite(math.log(v)) for v in dim.corners()):
            errors.append({"node": None, "field": f"space.{key}", "message": "log bounds must be positive"})
            continue
        for value in dim.corners():
            try:
                b = apply(body, {key: value})
            except KeyError as e:
                errors.append({"node": None, "field": f"space.{key}", "message": str(e.args[0])})
                break
            found = problems(b, f"space.{key}")
            if found:
                for f in found:
                    f["message"] = f"at {value!r}: {f['message']}"
                errors += found
                break
    return errors


def suggest(trial, space: dict[str, Range | Choices]) -> dict[str, JsonValue]:
    """One point of the space, sampled by an Optuna trial."""
    out: dict[str, JsonValue] = {}
    for key, dim in space.items():
        if isinstance(dim, Choices):
            out[key] = trial.suggest_categorical(key, dim.choices)
        elif dim.integer:
            out[key] = trial.suggest_int(key, dim.low, dim.high, step=dim.step or 1, log=dim.log)
        else:
            out[key] = trial.suggest_float(key, float(dim.low), float(dim.high), step=dim.step, log=dim.log)
    return out
