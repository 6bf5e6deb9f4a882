"""What a training option is, and the registries that hold them (as blocks/ does for blocks).

Each optimizer, loss, schedule and metric is one `Record`: a name, a one-line doc, a params
model (pydantic, the only place its settings and their constraints are defined) and the
kind's own factory fields. A `Registry` derives everything else from its records: the run
body's option type (a discriminated union on `name`, one model per record, so the OpenAPI
document shows each record's params), the catalog served at GET /api/options, and the
lookup from a validated spec back to its record.

A record's spec model is its params model plus `name: Literal[<name>]`, named
`<Name><Kind>` (e.g. `SgdOptimizer`, `StepSchedule`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Generic, Iterator, Literal, TypeVar, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, TypeAdapter, create_model


class Params(BaseModel):
    """Base of every option's params: unknown keys are errors, and numbers are finite."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class NoParams(Params):
    pass


# Fields kept on a record only so that run bodies valid before the registry stay valid (they
# were accepted on every optimizer / schedule). The settings form hides `deprecated` fields.
IGNORED = {"deprecated": True}


def ignored(default: Any, why: str, **constraints: Any) -> Any:
    return Field(default, description=f"accepted for compatibility and ignored: {why}",
                 json_schema_extra=IGNORED, **constraints)


@dataclass(frozen=True)
class Record:
    name: str
    doc: str
    params: type[Params] = NoParams

    def catalog(self) -> dict[str, Any]:
        """The kind's extra catalog fields (e.g. a loss's task); the registry adds name, doc, params."""
        return {}


R = TypeVar("R", bound=Record)


class Registry(Mapping[str, R], Generic[R]):
    """Records of one kind by name, in registration order. `default` names the record used
    when a body leaves the option out (or, for an object without `name`, the one it means)."""

    def __init__(self, kind: str, records: list[R], default: str | None = None):
        self.kind, self.default = kind, default
        self._records: dict[str, R] = {}
        for r in records:
            if r.name in self._records:
                raise ValueError(f"{kind} {r.name!r} registered twice")
            self._records[r.name] = r
        if default is not None and default not in self._records:
            raise ValueError(f"default {kind} {default!r} is not registered")

    def __getitem__(self, name: str) -> R:
        return self._records[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    @cached_property
    def specs(self) -> dict[str, type[Params]]:
        """name -> spec model (the record's params plus its `name` tag)."""
        out = {}
        for name, r in self._records.items():
            title = "".join(w.capitalize() for w in name.split("_")) + self.kind.capitalize()
            tag = (Literal[name], Field(name if name == self.default else ..., description=f"the {self.kind}"))
            out[name] = create_model(title, __base__=r.params, __doc__=r.doc, name=tag)
        return out

    @cached_property
    def names(self) -> Any:
        """Literal[every name]: the plain-string form of an option."""
        return Literal[tuple(self._records)]  # type: ignore[valid-type]

    @cached_property
    def union(self) -> Any:
        """The run body's type for this option: one model per record, discriminated by `name`
        (an object without `name` means the default record, as bodies before the registry did)."""
        members = tuple(self.specs.values())
        union = members[0] if len(members) == 1 else Union[members]  # type: ignore[valid-type]
        typ = Annotated[union, Field(discriminator="name")]
        if self.default is None:
            return typ
        default = self.default
        fill = lambda v: {"name": default, **v} if isinstance(v, dict) and "name" not in v else v  # noqa: E731
        return Annotated[typ, BeforeValidator(fill)]

    @cached_property
    def name_or_union(self) -> Any:
        """A plain name ("mse") or an object with params: errors say which form they are about
        (loc `name` for an unknown string, `spec` then the record for an object)."""
        form = lambda v: "name" if isinstance(v, str) else "spec"  # noqa: E731
        return Annotated[Union[Annotated[self.names, Tag("name")], Annotated[self.union, Tag("spec")]],
                         Discriminator(form)]

    @cached_property
    def _adapter(self) -> TypeAdapter:
        return TypeAdapter(self.union)

    def spec(self, **fields: Any) -> Params:
        """A validated spec from keyword fields, e.g. OPTIMIZERS.spec(name="sgd", lr=0.1)."""
        return self._adapter.validate_python(fields)

    def default_spec(self) -> Params:
        return self.specs[self.default](name=self.default)

    def parse(self, value: Any) -> Params:
        """A spec from a name, a stored JSON object or a spec: a stored run config reads back."""
        if isinstance(value, str):
            return self.specs[value](name=value)
        return self._adapter.validate_python(value)

    def record(self, spec: Any) -> tuple[R, Params]:
        """(record, its params) for a spec (or a plain name)."""
        spec = self.parse(spec) if isinstance(spec, (str, dict)) else spec
        return self._records[spec.name], spec

    def catalog(self) -> list[dict[str, Any]]:
        return [{"name": r.name, "doc": r.doc, "params_schema": r.params.model_json_schema(),
                 "default": r.name == self.default, **r.catalog()} for r in self._records.values()]


def settings(params: BaseModel) -> dict[str, Any]:
    """A spec's settings without its tag, as keyword arguments."""
    return {k: getattr(params, k) for k in type(params).model_fields if k != "name"}
