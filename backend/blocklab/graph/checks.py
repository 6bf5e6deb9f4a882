"""Checks of one node or name, each reporting through `err(node, field, message)`: ids, block
names, initialisers and parameter sharing. `analyze` calls them in its walk.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from pydantic import ValidationError
from torch import nn

from blocklab.blocks import REGISTRY
from blocklab.blocks.base import fmt
from blocklab.graph.document import GraphDoc, Node
from blocklab.graph.inits import INITS
from blocklab.graph.topology import find_cycle
from blocklab.graph.types import Error, InitCall, PNode

Err = Callable[..., None]  # err(node id or None, field or None, message, severity="error")

ID_RE = re.compile(r"^[A-Za-z0-9_]+$")
BLOCK_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Submodule names that would shadow nn.Module's own attributes ("forward", "training", ...).
RESERVED_IDS = frozenset(n for n in dir(nn.Module()) if not n.startswith("__"))


def id_problem(n: Node, seen: dict[str, Node]) -> str | None:
    label = f"node '{n.id}'"
    if not ID_RE.match(n.id):
        return f"{label} has a malformed id: use letters, digits and _ only (it names the state_dict keys)"
    if n.id in RESERVED_IDS:
        return f"{label}: '{n.id}' is reserved by torch's nn.Module; pick another id"
    if n.id in seen:
        return f"{label}: the id '{n.id}' is used by more than one node; ids must be unique"
    return None


def unknown_type(n: Node, doc: GraphDoc) -> str:
    hint = suggest(n.type, [*REGISTRY, *doc.blocks])
    return f"node '{n.id}' has unknown type '{n.type}'" + (f"; did you mean '{hint[0]}'?" if hint else "")


def bad_blocks(doc: GraphDoc, errors: list[Error]) -> set[str]:
    """Blocks that cannot be instantiated: bad names, built-in names, recursion."""
    bad: set[str] = set()
    uses = {name: {n.type for n in b.nodes if n.type in doc.blocks} for name, b in doc.blocks.items()}
    for name in doc.blocks:
        if not BLOCK_NAME_RE.match(name) or len(name) > 64:
            errors.append(Error((), None, f"block name '{name[:64]}' must be a Python-style name: letters, digits, _",
                                name[:64]))
            bad.add(name)
        elif name in REGISTRY:
            errors.append(Error((), None, f"block name '{name}' is already a built-in block type", name))
            bad.add(name)
        cycle = find_cycle(name, uses)
        if cycle:
            errors.append(Error((), None, f"block '{name[:64]}' contains itself ({' → '.join(c[:64] for c in cycle[:8])}"
                                          f"{' → …' if len(cycle) > 8 else ''}); blocks cannot be recursive", name[:64]))
            bad.add(name)
    return bad


def inits(n: PNode, raw: Node, err: Err) -> None:
    """Resolve the node's `init` entries into n.inits."""
    if not raw.init:
        return
    if raw.shares:
        err(n.id, "init", f"{n.type} '{n.id}' shares its parameters with '{raw.shares}'; set init there")
        return
    shapes = n.kind.param_shapes(n.params)
    for name, spec in raw.init.items():
        fld = f"init.{name}"
        if name not in shapes:
            have = ", ".join(shapes) or "none"
            err(n.id, fld, f"{n.type} '{n.id}' has no parameter '{name}' to initialise (it has: {have})")
            continue
        init = INITS.get(spec.fn)
        if init is None:
            hint = suggest(spec.fn, list(INITS))
            err(n.id, fld, f"{n.type} '{n.id}': unknown init function '{spec.fn}'"
                + (f"; did you mean '{hint[0]}'?" if hint else f"; use one of {', '.join(INITS)}"))
            continue
        if len(shapes[name]) < init.min_dims:
            err(n.id, fld, f"{n.type} '{n.id}': {spec.fn} needs a tensor with at least {init.min_dims} dims, "
                f"but '{name}' has shape {fmt(shapes[name])}")
            continue
        try:
            args = init.params.model_validate(spec.model_extra or {})
        except ValidationError as e:
            for d in e.errors():
                arg = ".".join(str(x) for x in d["loc"])
                err(n.id, f"{fld}.{arg}", f"{n.type} '{n.id}': {spec.fn} argument '{arg}' {pydantic_msg(d)}")
            continue
        n.inits.append(InitCall(name, init, args))


def share(n: PNode, pnodes: dict[str, PNode], raws: dict[str, Node], err: Err) -> None:
    """Check `shares` and set n.shares to the root of the chain."""
    if raws[n.id].shares is None:
        return
    label = f"{n.type} '{n.id}'"
    t = _follow(n, pnodes, raws, "shares", err,
                lambda root: f"{label} shares parameters with '{root}', which is not a node of this graph")
    if t is None:
        return
    root = t.id
    if not t.present or not n.present:
        err(n.id, "shares", f"{label} shares '{t.id}', but one of them is absent here (its when is false)")
        return
    if t.type != n.type:
        err(n.id, "shares", f"{label} cannot share parameters with {t.type} '{t.id}': the types differ")
        return
    if n.role is not None:
        err(n.id, "shares", f"{label}: {n.type} nodes have nothing to share")
        return
    if n.shape is None or t.shape is None:
        return  # the reason is reported on the node itself
    if n.scope is not None or t.scope is not None:
        if not _same_copies(n, t):
            err(n.id, "shares", f"{label} shares block instance '{t.id}', but their inputs, args or repeats differ")
            return
    elif n.params != t.params:
        err(n.id, "shares", f"{label} cannot share parameters with '{t.id}': {_param_diff(n, t)}")
        return
    if n.trainable != t.trainable:
        err(n.id, "trainable", f"{label} shares '{t.id}'; set trainable on '{t.id}' only")
        return
    n.shares = root


def calls(n: PNode, pnodes: dict[str, PNode], raws: dict[str, Node], err: Err) -> None:
    """Check `calls` and set n.calls to the node whose attribute holds the module."""
    raw = raws[n.id]
    if raw.calls is None:
        return
    label = f"{n.type} '{n.id}'"
    if raw.shares is not None:
        err(n.id, "calls", f"{label} has both shares and calls; give one")
        return
    t = _follow(n, pnodes, raws, "calls", err, lambda target: f"{label} calls '{target[:40]}', which is not a node "
                                                              "of this graph (calls reaches nodes of the same graph or block only)")
    if t is None:
        return
    if t.type != n.type:
        err(n.id, "calls", f"{label} cannot call {t.type} '{t.id}': the types differ (set type to '{t.type}')")
        return
    if not n.present:
        return
    if not t.present:
        err(n.id, "calls", f"{label} calls '{t.id}', which is absent here (its when is false)")
        return
    if not t.has_module or t.role is not None:
        err(n.id, "calls", f"{label} calls {t.type} '{t.id}', which has no module to call")
        return
    if raw.init:
        err(n.id, "init", f"{label} calls '{t.id}' again; set init on '{t.id}'")
        return
    if not raw.trainable:
        err(n.id, "trainable", f"{label} calls '{t.id}' again; set trainable on '{t.id}'")
        return
    if n.shape is None or t.shape is None:
        return
    if n.scope is not None or t.scope is not None:
        if not _same_copies(n, t):
            err(n.id, "calls", f"{label} calls block instance '{t.id}', but their inputs have different shapes")
            return
        if n.args != t.args:
            err(n.id, "params", f"{label} calls block instance '{t.id}', whose args it takes; leave params out")
            return
    elif n.params != t.params:
        err(n.id, "calls", f"{label} cannot call '{t.id}' on its input: {_param_diff(n, t)} (the input shapes differ)")
        return
    n.calls = t.id


def chain_end(raw: Node, raws: dict[str, Node], link: str) -> Node | None:
    """The document node a `shares` / `calls` chain ends at (c -> b -> a gives a), or None when it
    leaves the graph or loops (share and calls report that)."""
    seen = {raw.id}
    while (nxt := getattr(raw, link)) is not None:
        if nxt not in raws or nxt in seen:
            return None
        seen.add(nxt)
        raw = raws[nxt]
    return raw


def _follow(n: PNode, pnodes: dict[str, PNode], raws: dict[str, Node], link: str, err: Err,
            missing: Callable[[str], str]) -> PNode | None:
    """The end of n's `shares` or `calls` chain (c -> b -> a gives a), or None, reported, when the
    chain leaves the graph or loops."""
    target, seen = getattr(raws[n.id], link), {n.id}
    while True:
        if target not in pnodes:
            err(n.id, link, missing(target))
            return None
        if target in seen:
            err(n.id, link, f"{n.type} '{n.id}': its {link} links form a loop through '{target}'")
            return None
        seen.add(target)
        nxt = getattr(raws[target], link)
        if nxt is None:
            return pnodes[target]
        target = nxt


def _same_copies(n: PNode, t: PNode) -> bool:
    """The same specialised block(s): one module can serve both."""
    return len(n.copies) == len(t.copies) and all(a is b for a, b in zip(n.copies, t.copies))


def suggest(word: str, choices: list[str]) -> list[str]:
    by_lower = {c.lower(): c for c in choices}
    if word.lower() in by_lower:
        return [by_lower[word.lower()]]
    return [by_lower[m] for m in difflib.get_close_matches(word.lower(), by_lower, n=1)]


def pydantic_msg(d: dict) -> str:
    msg = d["msg"]
    if d["type"] == "missing":
        return "is required"
    if d["type"] == "extra_forbidden":
        return "is not a parameter of this block"
    msg = msg.removeprefix("Input ").removeprefix("Value error, ")
    got = repr(d.get("input"))
    return f"{msg}, got {got[:40]}" if len(got) <= 40 else msg


def _param_diff(n: PNode, t: PNode) -> str:
    """k=<n's> here but <t's> in 't', for each resolved param where the two nodes differ."""
    a, b = n.params.model_dump(), t.params.model_dump()
    return ", ".join(f"{k}={a[k]!r} here but {b[k]!r} in '{t.id}'" for k in a if a[k] != b[k])
