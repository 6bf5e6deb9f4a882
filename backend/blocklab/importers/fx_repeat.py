"""A chain of copies of one block as one instance with `repeat` (after `fx_merge`).

torchvision's `layer1 = nn.Sequential(BasicBlock(...), BasicBlock(...))` imports as a
definition whose nodes are `0`, `1`, ... of one block type, chained. `repeat` exports as the
same `nn.Sequential` (keys `layer1.0.conv1.weight`), so each instance of such a definition
becomes one node of the block type with `repeat: N`, the copies' params as they are when all
copies agree, or `{"expr": "a if i == 0 else b"}` when only the first differs (a stage's
first block strides and projects). Copies some instances lack (`when` on a suffix of the
chain: D2L's VGG with one or two convolutions, ResNet-50's stages of 3, 4, 6 and 3) set the
count, a number per instance or an expression over the enclosing block's args.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from blocklab.blocks import REGISTRY
from blocklab.importers.fx_args import ABSENT, default

_PLAIN = {"id", "type", "params", "position"}


def _end(node: dict) -> str | None:
    kind = REGISTRY.get(node["type"])
    return kind.end if kind is not None else None


def _term(v: Any) -> str:
    if isinstance(v, dict):
        return v["expr"] if v["expr"].isidentifier() else f"({v['expr']})"
    return repr(v)


def _chain(blocks: dict[str, dict], name: str) -> tuple[str, list[dict], str | None, int] | None:
    """(copy type, copies, the one `when` arg of a suffix or None, where that suffix starts)."""
    d = blocks[name]
    mids = [n for n in d["nodes"] if _end(n) is None]
    ins, outs = ([n["id"] for n in d["nodes"] if _end(n) == e] for e in ("input", "output"))
    if not mids or len(ins) != 1 or len(outs) != 1 or [n["id"] for n in mids] != [str(j) for j in range(len(mids))]:
        return None
    typ = mids[0]["type"]
    inner = blocks.get(typ)
    if inner is None or typ == name or any(n["type"] != typ or set(n) - _PLAIN - {"when"} for n in mids) \
            or sum(_end(n) == "input" for n in inner["nodes"]) != 1:
        return None  # not copies of one block with one input (repeat chains them)
    ids = [*ins, *(n["id"] for n in mids), *outs]
    links = sorted((e["source"], e["target"]) for e in d["edges"])
    if links != sorted(itertools.pairwise(ids)):
        return None
    # copies some instances lack: a suffix 1.. of the chain, each `when` one of the chain's args
    whens = [n["when"] for n in mids if "when" in n]
    first = len(mids) - len(whens)
    if first == 0 or any("when" in n for n in mids[:first]) or any(w not in d.get("args", {}) for w in whens):
        return None
    return typ, mids, whens, first


def _instance(blocks: dict[str, dict], name: str, chain: tuple, node: dict) -> dict | None:
    """The node standing for one instance of the chain definition `name`, or None."""
    typ, mids, whens, first = chain
    args = blocks[name].get("args", {})
    env = {a: node.get("params", {}).get(a, spec["default"]) for a, spec in args.items()}

    def bind(v: Any) -> Any:  # a copy's param: a literal, or one of the chain's args
        if isinstance(v, dict):
            return env[v["expr"]] if v.get("expr") in env else ABSENT
        return v

    ons = [env[w] for w in whens]
    if all(isinstance(on, bool) for on in ons):  # known here: the copies present must come first
        if sorted(ons, reverse=True) != ons:
            return None
        count: Any = first + sum(ons)
    elif len({repr(on) for on in ons}) == 1:  # one of the enclosing args switches them all
        count = {"expr": f"{len(mids)} if {_term(ons[0])} else {first}"}
    else:
        return None
    live = mids[:count] if isinstance(count, int) else mids
    params: dict[str, Any] = {}
    for key in dict.fromkeys(k for n in live for k in n.get("params", {})):
        fill = default(blocks, typ, key)
        values = [bind(n.get("params", {}).get(key, fill)) for n in live]
        if ABSENT in values:
            return None
        if len({repr(v) for v in values}) == 1:
            if repr(values[0]) != repr(fill):
                params[key] = values[0]
        elif values[0] is True and values[1] is False and len({repr(v) for v in values[1:]}) == 1:
            params[key] = {"expr": "i == 0"}  # torchvision: the first block of a stage projects
        elif len({repr(v) for v in values[1:]}) == 1:
            params[key] = {"expr": f"{_term(values[0])} if i == 0 else {_term(values[1])}"}
        else:
            return None
    out = {"id": node["id"], "type": typ, **({"params": params} if params else {}), "repeat": count}
    return {**out, **{k: v for k, v in node.items() if k in ("position", "when")}}


def chains_as_repeat(doc: dict[str, Any]) -> dict[str, Any] | None:
    """A copy of `doc` with every chain definition's instances as repeats, or None when none is."""
    doc = copy.deepcopy(doc)
    blocks, changed = doc["blocks"], False
    for name in list(blocks):
        chain = _chain(blocks, name)
        if chain is None:
            continue
        graphs = [doc["nodes"], *(b["nodes"] for k, b in blocks.items() if k != name)]
        users = [(g, i) for g in graphs for i, n in enumerate(g) if n["type"] == name]
        shared = {n.get("shares") for g in graphs for n in g} | {n.get("calls") for g in graphs for n in g}
        if any(set(g[i]) - _PLAIN - {"when"} or g[i]["id"] in shared for g, i in users):
            continue
        new = [_instance(blocks, name, chain, g[i]) for g, i in users]
        if None in new:
            continue
        for (g, i), n in zip(users, new):
            g[i] = n
        del blocks[name]
        changed = True
    return doc if changed else None
