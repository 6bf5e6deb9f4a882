"""The values of one exported class, in the source: a constant, a declared arg, an arg
expression, or an extra keyword argument (an in-size inference fills in, computed at each
call site). A block definition exports as ONE class whatever its instances' args and input
shapes; `Slots` decides how each value that may differ between them is written.

A built-in block's constructor is rendered by its own `module(params)` with stand-in
values ("sentinels") in the varying fields, which are then replaced by their source. Two
different sets of stand-ins must render alike, and each must show up: a block whose
constructor computes with a value (rather than passing it on) cannot be written this way,
and the exporter falls back to one class per specialisation (`Unrenderable`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from blocklab.graph import expr as E

NAMES_TAKEN = frozenset({"self", "torch", "nn", "F", "math", "super", "range", "i", *E.FUNCS})
_MISSING = object()


class Unrenderable(Exception):
    """This definition cannot be one class; write one per specialisation."""


@dataclass
class Kw:
    name: str
    values: dict[int, Any] = field(default_factory=dict)  # spec index -> value at its call sites


class Slots:
    def __init__(self, envs: list[dict[str, Any]], arg_names: list[str], concrete: bool = False):
        self.envs = envs  # each specialisation's bound args
        self.arg_names = arg_names
        self.concrete = concrete  # one specialisation, written with its values
        self.kwargs: list[Kw] = []

    def resolve(self, values: dict[Hashable, Any], env_of: Callable[[Hashable], dict], spec_of: Callable[[Hashable], int],
                expr: str | None, given: bool, default: Any, base: str) -> str | None:
        """Source of one value (keys: a spec index, or (spec, copy) in a repeat), or None when
        the value is the same everywhere and is written as itself."""
        if not values:
            return None
        if self.concrete:
            if len({repr(v) for v in values.values()}) > 1:
                raise Unrenderable(base)
            return None
        if expr is not None:
            src = E.python(expr)
            wrap = {type(v) for v in values.values()} - {type(E.evaluate(expr, env_of(k))) for k in values}
            if wrap and len({type(v) for v in values.values()}) == 1 and type(next(iter(values.values()))) in (int, float, bool):
                src = f"{type(next(iter(values.values()))).__name__}({src})"  # e.g. int(channels / 2)
            return src
        vals = list(values.values())
        same = all(type(v) is type(vals[0]) and v == vals[0] for v in vals)
        if given or (same and _eq(vals[0], default)) or not isinstance(vals[0], (int, float, str, bool)):
            if not same:
                raise Unrenderable(base)
            return None
        for a in self.arg_names:
            if all(type(env_of(k).get(a)) is type(v) and env_of(k).get(a) == v for k, v in values.items()):
                return a
        if same:
            return None
        by_spec: dict[int, Any] = {}
        for k, v in values.items():
            s = spec_of(k)
            if by_spec.get(s, v) != v:
                raise Unrenderable(base)  # differs between copies of one call: no single keyword
            by_spec[s] = v
        for kw in self.kwargs:
            if all(kw.values.get(s, v) == v and type(kw.values.get(s, v)) is type(v) for s, v in by_spec.items()):
                kw.values.update(by_spec)
                return kw.name
        taken = {*NAMES_TAKEN, *self.arg_names, *(kw.name for kw in self.kwargs)}
        name, k = base, 2
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        self.kwargs.append(Kw(name, by_spec))
        return name


def _eq(a: Any, b: Any) -> bool:
    return b is not _MISSING and type(a) is type(b) and a == b


def template(render: Callable[[Any], str], params: Any, subs: dict[str, str]) -> str:
    """render(params) with each field in `subs` written as its source."""
    if not subs:
        return render(params)

    def attempt(base: int) -> str:
        stand_in = {f: _sentinel(getattr(params, f), base + 7 * k) for k, f in enumerate(subs)}
        text = render(params.model_copy(update=stand_in))
        for f, v in stand_in.items():
            if repr(v) not in text:
                raise Unrenderable(f)
            text = text.replace(repr(v), f"\x00{f}\x00")
        return text

    text = attempt(730291566101)
    if text != attempt(841902677201):
        raise Unrenderable(next(iter(subs)))
    for f, src in subs.items():
        text = text.replace(f"\x00{f}\x00", src)
    return text


def _sentinel(v: Any, n: int) -> Any:
    if isinstance(v, float):
        return n + 0.5
    if isinstance(v, str):
        return f"blocklab_stand_in_{n}"
    return n
