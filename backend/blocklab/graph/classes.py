"""One exported nn.Module class per block definition, however many specialisations (args,
input shapes) the analysis made of it: `__init__` takes the declared args (with their
defaults), as D2L writes `Residual(num_channels, use_1x1conv=False, strides=1)`, plus a
keyword for each in-size inference fills in that differs between instances (`in_channels`),
computed at each call site. A node switched off by `when` is `None` where it is absent, as
torchvision's `downsample`. `write` raises `Unrenderable` when that cannot be done; codegen
then writes one class per specialisation instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from blocklab.graph import expr as E
from blocklab.graph.forward import attr, field_sources, forward, ident
from blocklab.graph.inits import render
from blocklab.graph.slots import Slots, Unrenderable, template
from blocklab.graph.types import PNode, Scope


@dataclass
class ClassInfo:
    """How the source refers to a block's class: per specialisation, its name and keyword values."""

    names: dict[int, str] = field(default_factory=dict)  # id(scope) -> class name
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)  # id(scope) -> extra keyword values
    generic: bool = True
    args: list[str] = field(default_factory=list)  # declared args, in order


def write(cls: str, specs: list[Scope], infos: dict[str, ClassInfo], var: dict[str, str],
          concrete: bool = False) -> tuple[str, ClassInfo]:
    """The source of the class for these specialisations of one block (or of the top level);
    concrete: one specialisation written with its values (the fallback), taking no args."""
    first = specs[0]
    slots = Slots([s.args for s in specs], [] if concrete else list(first.specs), concrete)
    init = _init(specs, slots, infos)
    stores: list[str] = []
    body = forward(specs, var, slots, stores)
    if stores:  # values forward() reads, kept as plain attributes (no state_dict keys)
        init += ["", "# Values forward() reads.", *stores]
    info = ClassInfo(names={id(s): cls for s in specs}, args=list(slots.arg_names), generic=not concrete)
    for k, s in enumerate(specs):
        info.calls[id(s)] = {kw.name: kw.values[k] for kw in slots.kwargs if k in kw.values}
    sig = [f"{a}={first.specs[a].default!r}" for a in slots.arg_names] + [f"{kw.name}=None" for kw in slots.kwargs]
    doc = "The whole network." if first.block is None else f"Block '{first.block}'."
    if slots.kwargs:
        doc += f" {', '.join(kw.name for kw in slots.kwargs)}: sizes of its inputs, given by each use."
    lines = [f"class {cls}(nn.Module):", f'    """{doc}"""', "", f"    def __init__({', '.join(['self', *sig])}):",
             "        super().__init__()", *(f"        {x}" if x else "" for x in init), "",
             f"    def forward({', '.join(['self', *(var[i] for i in first.inputs)])}):", *(f"        {x}" for x in body)]
    return "\n".join(lines) + "\n", info


def _init(specs: list[Scope], slots: Slots, infos: dict[str, ClassInfo]) -> list[str]:
    first = specs[0]
    out: list[str] = []
    after: list[str] = []
    built: dict[str, str] = {}  # root of a shares group -> the first node (document order) holding it
    for nid in first.decl:
        pns = [s.nodes[nid] for s in specs]
        here = [k for k, p in enumerate(pns) if p.present]
        if not here or not pns[here[0]].has_module or pns[here[0]].calls:
            continue
        p0 = pns[here[0]]
        root = p0.shares or nid
        if any((pns[k].shares or nid) != root for k in here):
            raise Unrenderable(nid)
        ctor = attr(built[root]) if root in built else _ctor(specs, root, here, slots, infos)
        built.setdefault(root, nid)
        line = f"self.{nid} = {ctor}" if ident(nid) else f'self.add_module("{nid}", {ctor})'
        if len(here) < len(specs):  # absent in some: switched by its when
            cond = E.python(first.raw[nid].when)
            none = f"self.{nid} = None" if ident(nid) else f'setattr(self, "{nid}", None)'
            out += [f"if {cond}:", f"    {line}", "else:", f"    {none}"]
        else:
            out.append(line)
        if p0.shares:
            continue
        lines = {tuple(_after(pns[k])) for k in here}
        if len(lines) > 1 or (lines != {()} and len(here) < len(specs)):
            raise Unrenderable(nid)
        after += list(lines.pop())
    if after:
        out += ["", "# Initialisation and frozen layers, as designed.", *after]
    return out


def _after(n: PNode) -> list[str]:
    out = [render(c.init, c.args, f"{attr(n.id)}.{c.param}") for c in n.inits]
    return out + ([f"{attr(n.id)}.requires_grad_(False)"] if not n.trainable else [])


def _ctor(specs: list[Scope], nid: str, here: list[int], slots: Slots, infos: dict[str, ClassInfo]) -> str:
    pns = {k: specs[k].nodes[nid] for k in here}
    raw = specs[here[0]].raw[nid]
    p0 = pns[here[0]]
    if p0.scope is None:  # a built-in block
        return template(p0.kind.module, [p.params for p in pns.values()], field_sources(specs, nid, slots))[0]
    if not p0.repeated:
        return _call(specs, pns, raw.params, {k: 0 for k in here}, slots, infos, None)
    rep = raw.repeat
    if isinstance(rep, int) or slots.concrete:  # copies written out, as torchvision's layer1
        counts = {len(p.copies) for p in pns.values()}
        if len(counts) > 1:
            raise Unrenderable(nid)
        return "nn.Sequential(" + ", ".join(_call(specs, pns, raw.params, {k: j for k in here}, slots, infos, j)
                                            for j in range(counts.pop())) + ")"
    count = E.python(rep["expr"])
    return f"nn.Sequential(*[{_call(specs, pns, raw.params, None, slots, infos, 'i')} for i in range({count})])"


def _call(specs, pns: dict[int, PNode], given: dict, copy: dict[int, int] | None, slots: Slots,
          infos: dict[str, ClassInfo], index) -> str:
    """`Inner(arg=..., in_channels=...)` for one copy (copy: spec -> copy index), or for every
    copy of a comprehension over i (copy None)."""
    keys = [(k, j) for k, p in pns.items() for j in (range(len(p.copies)) if copy is None else (copy[k],))]
    inner = {key: pns[key[0]].copies[key[1]] for key in keys}
    first = inner[keys[0]]
    info = infos[next(iter(pns.values())).type]
    if not info.generic:
        names = {f"{info.names[id(s)]}()" for s in inner.values()}
        if len(names) > 1:
            raise Unrenderable(first.block)
        return names.pop()

    def env_of(key):
        return {**specs[key[0]].args, "i": key[1]}

    def spec_of(key):
        return key[0]

    parts = []
    for a in info.args:
        v = given.get(a)
        expr = v["expr"] if E.is_expr(v) else None
        values = {key: pns[key[0]].args[key[1]][a] for key in keys}
        one = values[keys[0]]
        if slots.concrete or (expr is not None and copy is not None and not E.names(expr) - {"i"}):
            src = None if len(set(map(repr, values.values()))) == 1 else _fail(a)
        elif expr is not None:
            src = E.python(expr, consts={"i": index} if copy is not None else None)
        else:
            src = slots.resolve(values, env_of, spec_of, None, a in given, first.specs[a].default, a)
        if src is None and (a in given or one != first.specs[a].default):
            src = repr(one)
        if src is not None:
            parts.append(f"{a}={src}")
    order = list(info.calls[id(first)])
    for kw in sorted({w for s in inner.values() for w in info.calls[id(s)]},
                     key=lambda w: order.index(w) if w in order else len(order)):
        values = {key: info.calls[id(inner[key])][kw] for key in keys if kw in info.calls[id(inner[key])]}
        if slots.concrete:
            src = None if len(set(map(repr, values.values()))) == 1 else _fail(kw)
        else:
            try:
                src = slots.resolve(values, env_of, spec_of, None, False, None, kw)
            except Unrenderable:
                if copy is not None:
                    raise
                src = _first_or_rest(values, env_of, slots, kw)
        parts.append(f"{kw}={src if src is not None else repr(next(iter(values.values())))}")
    return f"{info.names[id(first)]}({', '.join(parts)})"


def _fail(what: str):
    raise Unrenderable(what)


def _first_or_rest(values: dict, env_of, slots: Slots, kw: str) -> str:
    """In a comprehension over copies: `a if i == 0 else b`, copy 0 fed from outside, the rest by the chain."""
    head = {key: v for key, v in values.items() if key[1] == 0}
    rest = {key: v for key, v in values.items() if key[1] != 0}
    srcs = [slots.resolve(part, env_of, lambda key: key[0], None, False, None, kw) for part in (head, rest)]
    a, b = (s if s is not None else repr(next(iter(part.values()))) for s, part in zip(srcs, (head, rest)))
    return f"({a} if i == 0 else {b})"


