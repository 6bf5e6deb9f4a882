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


def template(render: Callable[[Any], str], params: list[Any], subs: dict[str, str]) -> tuple[str, set[str]]:
    """render(params) with each field in `subs` written as its source, and the fields it used.
    The template, filled with each specialisation's values, must give what render() gives it."""
    texts = [render(p) for p in params]
    if not subs:
        if len(set(texts)) > 1:
            raise Unrenderable("render")
        return texts[0], set()

    def attempt(base: int) -> tuple[str, dict[str, Any]]:
        stand_in = {f: _sentinel(getattr(params[0], f), base + 7 * k) for k, f in enumerate(subs)}
        try:
            text = render(params[0].model_copy(update=stand_in))
        except Exception:  # the rule computes with the value: no template
            raise Unrenderable(next(iter(subs))) from None
        for f, v in stand_in.items():
            text = text.replace(repr(v), f"\x00{f}\x00")
        return text, stand_in

    text, _ = attempt(730291566101)
    if text != attempt(841902677201)[0]:
        raise Unrenderable(next(iter(subs)))
    used = {f for f in subs if f"\x00{f}\x00" in text}
    for p, want in zip(params, texts):
        filled = text
        for f in used:
            filled = filled.replace(f"\x00{f}\x00", repr(getattr(p, f)))
        if filled != want:
            raise Unrenderable(next(iter(subs)))
    for f in used:
        text = _put(text, f"\x00{f}\x00", subs[f])
    return text, used


def _put(text: str, token: str, src: str) -> str:
    """Replace token by src, in brackets where it is not a whole argument (`-x`, `x * 2`)."""
    out, at = [], 0
    while (k := text.find(token, at)) >= 0:
        head = text[:k].rstrip()
        before, after = head[-1:], text[k + len(token):].lstrip()[:1]
        keyword_arg = before == "=" and head[-2:-1] not in ("=", "!", "<", ">")
        whole = (before in ("", "(", ",", "[") or keyword_arg) and after in ("", ")", ",", "]")
        simple = src.isidentifier() or src.replace(".", "", 1).isdigit()
        out += [text[at:k], src if whole or simple else f"({src})"]
        at = k + len(token)
    return "".join(out) + text[at:]


def _sentinel(v: Any, n: int) -> Any:
    if isinstance(v, float):
        return n + 0.5
    if isinstance(v, str):
        return f"blocklab_stand_in_{n}"
    return n
