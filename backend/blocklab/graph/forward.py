"""The forward() of an exported class: one line per node in the scope's topological order,
the nodes' own forward sources over the variables feeding their ports. A node whose named
outputs are taken (an LSTM's h_n and c_n) gets its whole result once, then a line per output.
A param that differs between specialisations is read from an attribute `__init__` stores.
"""

from __future__ import annotations

import keyword

from blocklab.graph import expr as E
from blocklab.graph.checks import RESERVED_IDS
from blocklab.graph.slots import NAMES_TAKEN, Slots, Unrenderable, template
from blocklab.graph.types import PNode, Scope


def ident(s: str) -> bool:
    return s.isidentifier() and not keyword.iskeyword(s)


def attr(node_id: str) -> str:
    """How the source refers to a submodule: self.hidden, or getattr(self, "0") for ids like nn.Sequential's."""
    return f"self.{node_id}" if ident(node_id) else f'getattr(self, "{node_id}")'


def fresh(base: str, taken: set[str], reserve: bool = True) -> str:
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    if reserve:
        taken.add(name)
    return name


def field_sources(specs: list[Scope], nid: str, slots: Slots) -> dict[str, str]:
    """Source of each of a built-in node's params that is not the same constant everywhere."""
    pns = {k: s.nodes[nid] for k, s in enumerate(specs) if s.nodes[nid].present}
    p0, raw = next(iter(pns.values())), specs[next(iter(pns))].raw[nid]
    if raw.calls is not None or raw.shares is not None and not raw.params:
        raw = specs[0].raw[raw.calls or raw.shares]  # its params are the target's
    subs = {}
    for f, info in type(p0.params).model_fields.items():
        v = raw.params.get(f)
        src = slots.resolve({k: getattr(p.params, f) for k, p in pns.items()}, lambda k: specs[k].args, int,
                            v["expr"] if E.is_expr(v) else None, f in raw.params and not E.is_expr(v), info.default, f)
        if src is not None:
            subs[f] = src
    return subs


def forward(specs: list[Scope], var: dict[str, str], slots: Slots, stores: list[str]) -> list[str]:
    first = specs[0]
    body: list[str] = []
    alias = {(i, None): v for i, v in var.items()}  # (node, named output or None) -> its variable
    taken = set(first.decl) | RESERVED_IDS
    local = set(var.values()) | NAMES_TAKEN
    takes = first.taken()
    for nid, n in first.nodes.items():
        pns = [s.nodes[nid] for s in specs]
        if not n.live or n.role is not None:
            continue
        args = {p: alias[(src, n.taps.get(p))] for p, src in n.inputs.items()}
        here = [p for p in pns if p.present]
        if not here:
            alias[(nid, None)] = next(iter(args.values()))  # absent everywhere: its input passes through
            continue
        if takes.get(nid, {None}) != {None}:  # named outputs taken: the whole result once, then each
            body += _results(specs, nid, here, len(here) < len(pns), args, slots, stores, taken, var, alias, local, takes[nid])
            continue
        text = _call_text(specs, nid, here, args, slots, stores, taken)
        if len(here) < len(pns):  # switched by its when: a module is None where absent, else a flag says
            on = f"{attr(nid)} is not None"
            if not here[0].has_module or here[0].calls:
                flag = fresh(f"use_{nid}" if ident(f"use_{nid}") else f"use_h_{nid}", taken)
                stores.append(f"self.{flag} = bool({E.python(first.raw[nid].when)})")
                on = f"self.{flag}"
            text = f"{text} if {on} else {next(iter(args.values()))}"
        body.append(f"{var[nid]} = {text}{_note({p.shape for p in pns})}")
    outs = [alias[(first.nodes[o].inputs["x"], first.nodes[o].taps.get("x"))] for o in first.outputs]
    body.append(f"return {', '.join(outs)}")
    return body


def _results(specs, nid: str, here: list[PNode], switched: bool, args: dict[str, str], slots: Slots, stores: list[str],
             taken: set[str], var: dict[str, str], alias: dict, local: set[str], takes: set[str | None]) -> list[str]:
    """`lstm_all = self.lstm(x)`, then one line per output taken: `lstm_h_n = lstm_all[1][0].transpose(0, 1)`."""
    if switched:  # present in some specialisations only: one class each
        raise Unrenderable(nid)
    outputs = here[0].kind.outputs
    result = fresh(f"{var[nid]}_all", local)
    lines = [f"{result} = {_call_text(specs, nid, here, args, slots, stores, taken, outputs.call)}"]
    for port in [None, *outputs.names]:
        if port not in takes:
            continue
        name = var[nid] if port is None else fresh(f"{var[nid]}_{port}", local)
        pick = (lambda p, a, m, port=port: outputs.pick(p, result, port if port is not None else getattr(p, outputs.param)))
        text = _call_text(specs, nid, here, args, slots, stores, taken, pick)
        lines.append(f"{name} = {text}{_note({p.output(port) for p in here})}")
        alias[(nid, port)] = name
    return lines


def _note(shapes: set) -> str:
    """The shape comment of a line: `  # [B, 10]`, where every specialisation agrees."""
    return f"  # [{', '.join(['B', *map(str, next(iter(shapes)))])}]" if len(shapes) == 1 else ""


def _call_text(specs, nid: str, here: list[PNode], args: dict[str, str], slots: Slots, stores: list[str],
               taken: set[str], form=None) -> str:
    """The node's forward expression (or `form(params, args, mod)`'s: a part of it); a param it reads that
    differs by arg becomes self.<node>_<param>."""
    n = here[0]
    form = form or (n.kind.forward if n.kind is not None else None)
    if n.scope is not None or slots.concrete:
        texts = {_expr(p, args, form) for p in here}
        if len(texts) > 1:
            raise Unrenderable(nid)
        return texts.pop()
    subs = field_sources(specs, nid, slots)
    names = {f: fresh(f"{nid}_{f}" if ident(f"{nid}_{f}") else f"h_{nid}_{f}", taken, reserve=False) for f in subs}
    mod = attr(n.calls or n.id) if n.has_module else None
    text, used = template(lambda p: form(p, args, mod), [p.params for p in here],
                          {f: f"self.{names[f]}" for f in subs})
    for f in subs:
        if f in used:
            taken.add(names[f])
            stores.append(f"self.{names[f]} = {subs[f]}")
    return text


def _expr(n: PNode, args: dict[str, str], form) -> str:
    mod = attr(n.calls or n.id)
    if n.scope is not None:
        return f"{mod}({', '.join(args.values())})"
    return form(n.params, args, mod if n.has_module else None)
