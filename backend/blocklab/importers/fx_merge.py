"""Reused classes as one definition used several times, with arguments where instances differ.

Which definitions merge: start from one group per Python class and split a group while its
definitions cannot be one (`fx_args.plan`, composite node types compared by group), until no
group splits. Then merge group by group, inner groups first (a group's definitions use only
merged ones by then, so their instances already carry their args as literal params).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from blocklab.importers import fx_args as A
from blocklab.importers.layout import layout


def _uses(d: dict, blocks: dict[str, dict]) -> set[str]:
    return {n["type"] for n in d["nodes"] if n["type"] in blocks}


def _groups(blocks: dict[str, dict], classes: dict[str, str]) -> dict[str, tuple]:
    """Definition name -> its group: the coarsest split of the classes into mergeable sets."""
    group: dict[str, tuple] = {name: (classes.get(name, name),) for name in blocks}
    while True:
        split: dict[str, tuple] = {}
        typeof = group.get  # a composite type as its group (every other type is not in `group`)
        for label in dict.fromkeys(group.values()):
            subs: list[list[str]] = []
            for m in [n for n in blocks if group[n] == label]:
                # a definition using one of its own group could not be merged into itself
                own = any(group[t] == label for t in _uses(blocks[m], blocks))
                for s in subs if not own else ():
                    if A.plan(blocks, [*s, m], lambda t, g=typeof: g(t, t)) is not None:
                        s.append(m)
                        break
                else:
                    subs.append([m])
            for i, s in enumerate(subs):
                split.update({m: (*label, i) for m in s})
        if len(set(split.values())) == len(set(group.values())):
            return group
        group = split


def _topological(groups: dict[tuple, list[str]], blocks: dict[str, dict], group: dict[str, tuple]) -> list[tuple] | None:
    """Groups with the groups they use first; None on a cycle (then nothing is merged)."""
    done: list[tuple] = []
    state: dict[tuple, int] = {}

    def visit(g: tuple) -> bool:
        if state.get(g) == 2:
            return True
        if state.get(g) == 1:
            return False
        state[g] = 1
        for m in groups[g]:
            if not all(visit(group[t]) for t in _uses(blocks[m], blocks) if group[t] != g):
                return False
        state[g] = 2
        done.append(g)
        return True

    return done if all(visit(g) for g in groups) else None


def _instances(doc: dict) -> list[dict]:
    return [*doc["nodes"], *(n for b in doc["blocks"].values() for n in b["nodes"])]


def _made(doc: dict, name: str) -> int:
    """How many times the model builds definition `name` (its instances, through every nesting)."""
    def inside(nodes: list[dict]) -> int:
        return sum(1 if n["type"] == name else inside(doc["blocks"][n["type"]]["nodes"]) if n["type"] in doc["blocks"]
                   else 0 for n in nodes)
    return inside(doc["nodes"])


def _tie(p: A.Plan, blocks: dict[str, dict]) -> None:
    """A node that may be absent must, absent, keep its input's shape with the args in force there:
    torchvision's `downsample` has stride 2 wherever it exists, and `stride` is 1 where it does not.
    So a constant param inside an optional node that equals the merged arg of its name wherever the
    node is present becomes that arg (for a block: a new arg of the block, its old value the default)."""
    for node in p.nodes:
        if "when" not in node:
            continue
        here = p.args[node["when"]][1]
        for name, (typ, col) in p.args.items():
            cur = node.get("params", {}).get(name, A.ABSENT)
            values = {repr(v) for v, h in zip(col, here) if h}
            if typ == "boolean" or isinstance(cur, dict) or len(values) != 1:
                continue
            v = next(v for v, h in zip(col, here) if h)
            if repr(A.default(blocks, node["type"], name) if cur is A.ABSENT else cur) == repr(v):
                node.setdefault("params", {})[name] = {"expr": name}  # the node's own param or arg
                continue
            inner = blocks.get(node["type"])
            if inner is None or cur is not A.ABSENT or name in inner.get("args", {}):
                continue
            sites = [n for n in inner["nodes"] if n.get("params", {}).get(name, A.ABSENT) == v]
            if sites:
                inner.setdefault("args", {})[name] = {"type": typ, "default": v}
                for n in sites:
                    n["params"][name] = {"expr": name}
                node.setdefault("params", {})[name] = {"expr": name}


def merge_reused(doc: dict[str, Any], classes: dict[str, str]) -> dict[str, Any] | None:
    """A copy of `doc` with each class's mergeable definitions as one, or None when nothing merges."""
    doc = copy.deepcopy(doc)
    blocks = doc["blocks"]
    group = _groups(blocks, classes)
    groups: dict[tuple, list[str]] = {}
    for name, g in group.items():
        groups.setdefault(g, []).append(name)
    if all(len(m) == 1 for m in groups.values()):
        return None
    order = _topological(groups, blocks, group)
    if order is None:
        return None
    for g in order:
        members = groups[g]
        if len(members) == 1:
            continue
        p = A.plan(blocks, members, lambda t: t)  # inner groups are one name each by now
        if p is None:
            return None  # cannot happen: the split said they merge; never a half-merged document
        _tie(p, blocks)
        users = _instances(doc)
        weight = [_made(doc, m) for m in members]
        args = A.declare(p, weight)
        for n in users:
            if n["type"] in members:
                extra = A.bound(p, args, members.index(n["type"]))
                n["type"] = members[0]
                if extra:
                    n["params"] = {**n.get("params", {}), **extra}
        layout(p.nodes, p.edges)
        blocks[members[0]] = {"args": args, "nodes": p.nodes, "edges": p.edges}
        for m in members[1:]:
            del blocks[m]
    return doc


def plain_names(doc: dict[str, Any], classes: dict[str, str]) -> None:
    """`Sequential_2` as `Sequential` where merging freed that name (the importer's `<class>_<k>`)."""
    blocks = doc["blocks"]
    for name in list(blocks):
        m = re.fullmatch(r"(.+)_\d+", name)
        if m is None or m[1] in blocks or classes.get(name) is None or classes.get(m[1]) != classes[name]:
            continue
        blocks[m[1]] = blocks.pop(name)
        for n in _instances(doc):
            if n["type"] == name:
                n["type"] = m[1]
