"""One definition with arguments for the instances of one class that differ.

The importer makes a definition per distinct content, so ResNet's BasicBlock with stride 1,
with stride 2 and a projection shortcut, at 64 or 128 channels, ... are BasicBlock,
BasicBlock_2, ... `plan` tells whether definitions of one class are one graph up to
(a) literal param values, which become args (`{"expr": arg}` inside, values on each
instance), and (b) nodes some of them lack, which become `when: has_<node>` where leaving
the node out is exactly what the others do: its one input feeds its consumers instead.
`importers.fx_merge` decides which definitions to merge and rewrites the document.
"""

from __future__ import annotations

import keyword
from collections import Counter
from collections.abc import Callable
from typing import Any

from blocklab.blocks import REGISTRY
from blocklab.graph.args import RESERVED

ABSENT = object()  # a member lacks the node: its value does not matter there
_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}
Port = tuple[str, Any]  # (target node, target_port or None)


class Plan:
    """The merged nodes and edges, and per arg its JSON type and one value per member (or ABSENT)."""

    def __init__(self, nodes: list[dict], edges: list[dict], args: dict[str, tuple[str, list[Any]]]):
        self.nodes, self.edges, self.args = nodes, edges, args


def default(blocks: dict[str, dict], typ: str, key: str) -> Any:
    """The value a node of `typ` has when its params leave `key` out (ABSENT: none that an arg could hold)."""
    if typ in blocks:
        spec = blocks[typ].get("args", {}).get(key)
        return spec["default"] if spec else ABSENT
    kind = REGISTRY.get(typ)
    field = kind.params.model_fields.get(key) if kind is not None else None
    if field is None or field.is_required():
        return ABSENT
    return field.get_default(call_default_factory=True)


def _code(typ: str, key: str) -> bool:
    kind = REGISTRY.get(typ)
    field = kind.params.model_fields.get(key) if kind is not None else None
    extra = field.json_schema_extra if field is not None else None
    return isinstance(extra, dict) and extra.get("format") == "code"


def _json_type(values: list[Any]) -> str | None:
    """The one arg type of these values, or None (lists, None, bools mixed with numbers, ...)."""
    kinds = {type(v) for v in values if v is not ABSENT}
    if kinds == {int, float}:
        return "number"
    return _TYPES.get(kinds.pop()) if len(kinds) == 1 else None


def _order(defs: list[dict]) -> list[str]:
    """Every node id once, in the longest definition's order, the others' extras after their predecessor."""
    first = max(defs, key=lambda d: len(d["nodes"]))
    order = [n["id"] for n in first["nodes"]]
    for d in defs:
        prev = None
        for n in d["nodes"]:
            if n["id"] not in order:
                order.insert(order.index(prev) + 1 if prev is not None else 0, n["id"])
            prev = n["id"]
    return order


def _sources(d: dict) -> dict[Port, str]:
    return {(e["target"], e.get("target_port")): e["source"] for e in d["edges"]}


def _edges(order: list[str], present: list[set[str]], srcs: list[dict[Port, str]]) -> dict[Port, str] | None:
    """One source per (target, port), such that in each member a source it lacks resolves through
    that node's one input to the source the member really has; None where no such choice exists."""
    merged: dict[Port, str] = {}

    def resolve(s: str, have: set[str]) -> str | None:
        while s not in have:
            ins = [src for (t, _), src in merged.items() if t == s]
            if len(ins) != 1:
                return None
            s = ins[0]
        return s

    for nid in order:
        ports = {p for src in srcs for p in src if p[0] == nid}
        for port in sorted(ports, key=str):
            users = [(have, src) for have, src in zip(present, srcs) if nid in have]
            if any(port not in src for _, src in users):
                return None
            pick = next((c for c in dict.fromkeys(src[port] for _, src in users)
                         if all(resolve(c, have) == src[port] for have, src in users)), None)
            if pick is None:
                return None
            merged[port] = pick
    return merged


def _free(base: str, taken: set[str]) -> str:
    if not base.isidentifier() or keyword.iskeyword(base) or base in RESERVED:
        base = f"n{base}" if f"n{base}".isidentifier() else "arg"
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


def _kind(node: dict, typeof: Callable[[str], Any]) -> dict:
    """All of a node but its params and place, its type as `typeof` sees it."""
    return {k: typeof(v) if k == "type" else v for k, v in node.items() if k not in ("params", "position")}


def plan(blocks: dict[str, dict], members: list[str], typeof: Callable[[str], Any]) -> Plan | None:
    """How to write the definitions `members` as one, or None. `typeof` maps a node type to what
    must be equal (the merge group of a composite type: its definitions become one)."""
    defs = [blocks[m] for m in members]
    if any("source_port" in e for d in defs for e in d["edges"]):
        return None  # named outputs (an LSTM's h_n) inside: the definitions stay apart
    order = _order(defs)
    nodes = [{n["id"]: n for n in d["nodes"]} for d in defs]
    present = [set(by) for by in nodes]
    optional = [nid for nid in order if not all(nid in have for have in present)]
    merged_nodes, wants = [], []  # wants: (node, param or None for `when`, values per member)
    for nid in order:
        users = [by[nid] for by in nodes if nid in by]
        if any(_kind(u, typeof) != _kind(users[0], typeof) for u in users):
            return None  # another type, or shares/calls/init/... differ
        node = {k: v for k, v in users[0].items() if k != "position"}
        if any(node.get(k) in optional for k in ("shares", "calls")):
            return None  # a node sharing one that may be absent
        if nid in optional:
            if REGISTRY.get(node["type"]) is not None and REGISTRY[node["type"]].end:
                return None  # a graph end cannot be left out
            wants.append((nid, None, [nid in have for have in present]))
        params: dict[str, Any] = {}
        for key in dict.fromkeys(k for u in users for k in u.get("params", {})):
            fill = default(blocks, node["type"], key)
            values = [by[nid].get("params", {}).get(key, fill) if nid in by else ABSENT for by in nodes]
            if ABSENT in [v for by, v in zip(nodes, values) if nid in by]:
                return None  # left out where there is no default an arg could stand for
            seen = {repr(v) for v in values if v is not ABSENT}
            if len(seen) == 1:
                params[key] = next(v for v in values if v is not ABSENT)
            elif _json_type(values) is None or _code(node["type"], key):
                return None  # not one arg type; or two pieces of code (a CustomLayer's), two blocks
            else:
                wants.append((nid, key, values))
        if params or "params" in node:
            node["params"] = params
        merged_nodes.append(node)
    srcs = [_sources(d) for d in defs]
    merged_srcs = _edges(order, present, srcs)
    if merged_srcs is None:
        return None
    for nid in optional:  # absent: its one input passes through
        if sum(1 for (t, _) in merged_srcs if t == nid) != 1:
            return None
    for have, src in zip(present, srcs):  # no edge the rewrite does not account for
        if set(src) != {p for p in merged_srcs if p[0] in have}:
            return None
    args = _args(wants, merged_nodes)
    edges = [{"source": s, "target": t, **({"target_port": p} if p is not None else {})} for (t, p), s in merged_srcs.items()]
    return Plan(merged_nodes, edges, args)


def _args(wants: list[tuple[str, str | None, list[Any]]], merged_nodes: list[dict]) -> dict[str, tuple[str, list[Any]]]:
    """One arg per distinct column of values (conv1 and conv2 both at `out_channels`); sets the
    `{"expr": arg}` params and `when`s on `merged_nodes`."""
    columns: list[tuple[list[tuple[str, str | None]], list[Any], str]] = []
    for nid, key, values in wants:
        typ = "boolean" if key is None else _json_type(values)
        for uses, col, t in columns:
            if key is not None and t == typ and None not in [k for _, k in uses] and all(
                    a is ABSENT or b is ABSENT or a == b for a, b in zip(col, values)) and any(
                    a is not ABSENT and b is not ABSENT for a, b in zip(col, values)):
                uses.append((nid, key))
                col[:] = [b if a is ABSENT else a for a, b in zip(col, values)]
                break
        else:
            columns.append(([(nid, key)], list(values), typ))
    by_id = {n["id"]: n for n in merged_nodes}
    # `<param>` where one column alone is that param, else `<node>_<param>` (conv1_stride, conv2_stride)
    wish = [uses[0][1] if len({k for _, k in uses}) == 1 else f"{uses[0][0]}_{uses[0][1]}" for uses, _, _ in columns]
    clash = {w for w in wish if wish.count(w) > 1}
    args: dict[str, tuple[str, list[Any]]] = {}
    for (uses, col, typ), want in zip(columns, wish):
        if uses[0][1] is None:
            name = _free(f"has_{uses[0][0]}", set(args))
            by_id[uses[0][0]]["when"] = name
        else:
            name = _free(f"{uses[0][0]}_{want}" if want in clash else want, set(args))
            for nid, key in uses:
                by_id[nid].setdefault("params", {})[key] = {"expr": name}
        args[name] = (typ, col)
    return args


def declare(p: Plan, weight: list[int]) -> dict[str, dict]:
    """The `args` of the merged definition: the most used value (over instances) as the default."""
    out = {}
    for name, (typ, col) in p.args.items():
        counts = Counter()
        for v, w in zip(col, weight):
            if v is not ABSENT:
                counts[repr(v)] += w
        best = max(counts.values())
        value = next(v for v in col if v is not ABSENT and counts[repr(v)] == best)
        out[name] = {"type": typ, "default": float(value) if typ == "number" else value}
    return out


def bound(p: Plan, args: dict[str, dict], member: int) -> dict[str, Any]:
    """The params an instance of member `member` gives: its values that are not the defaults."""
    out = {}
    for name, (typ, col) in p.args.items():
        v = col[member]
        if v is not ABSENT and v != args[name]["default"]:
            out[name] = float(v) if typ == "number" else v
    return out
