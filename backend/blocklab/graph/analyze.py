"""Validation and shape inference: document -> Analysis (every error, each with its node).

The analysis walks each graph scope (the top level, and each composite block once per
distinct set of input shapes) in topological order and asks each block's own shape rule
for its output shape. No tensor is allocated: a 1,000-node chain takes a few ms.
The resulting scopes are the plan that `codegen` turns into PyTorch source.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from torch import nn

from blocklab.blocks import REGISTRY
from blocklab.blocks.base import BlockType, In, Port, Shape, ShapeError, fmt
from blocklab.graph.document import Edge, GraphDoc, Node
from blocklab.graph.inits import INITS, Init

ID_RE = re.compile(r"^[A-Za-z0-9_]+$")
BLOCK_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Submodule names that would shadow nn.Module's own attributes ("forward", "training", ...).
RESERVED_IDS = frozenset(n for n in dir(nn.Module()) if not n.startswith("__"))


@dataclass
class Error:
    path: tuple[str, ...]  # instance ids from the top level down to the node at fault; () = whole graph
    field: str | None
    message: str
    block: str | None = None  # innermost composite block the node lives in
    severity: str = "error"

    def to_json(self) -> dict[str, Any]:
        msg = self.message
        if len(self.path) > 1:
            msg = f"in block '{self.block}' (at '{'.'.join(self.path)}'): {msg}"
        out: dict[str, Any] = {"node": self.path[0] if self.path else None, "field": self.field, "message": msg}
        if len(self.path) > 1:
            out |= {"path": ".".join(self.path), "block": self.block}
        if self.severity != "error":
            out["severity"] = self.severity
        return out


@dataclass
class InitCall:
    param: str
    init: Init
    args: Any


@dataclass
class PNode:
    """One node of a scope, resolved: what codegen needs to emit it."""

    id: str
    type: str
    kind: BlockType | None  # None for a composite block instance
    params: Any = None
    scope: "Scope | None" = None  # the specialised block, for an instance
    inputs: dict[str, str] = field(default_factory=dict)  # port -> source node id, in port order
    shape: Shape | None = None
    shares: str | None = None  # root node whose module this node reuses
    inits: list[InitCall] = field(default_factory=list)
    trainable: bool = True
    n_params: int = 0
    live: bool = True  # False: nothing downstream reaches an Output

    @property
    def has_module(self) -> bool:
        return self.scope is not None or (self.kind is not None and self.kind.module is not None)

    @property
    def role(self) -> str | None:
        return self.kind.end if self.kind else None  # the graph end it is, or None


@dataclass
class Scope:
    """A graph (top level or one specialisation of a block): its nodes in topological order."""

    block: str | None
    nodes: dict[str, PNode]
    inputs: list[str]
    outputs: list[str]
    n_params: int = 0  # unique parameters, tied ones once
    n_nodes: int = 0  # expanded: nodes of nested instances included
    key: tuple = ()


@dataclass
class Analysis:
    errors: list[Error]
    root: Scope | None

    @property
    def ok(self) -> bool:
        return self.root is not None and not any(e.severity == "error" for e in self.errors)

    def scopes(self) -> list[Scope]:
        """Every scope, inner blocks before the scopes that use them."""
        seen: dict[int, Scope] = {}

        def visit(s: Scope) -> None:
            for n in s.nodes.values():
                if n.scope is not None and id(n.scope) not in seen:
                    visit(n.scope)
            seen[id(s)] = s

        if self.root:
            visit(self.root)
        return list(seen.values())

    def report(self) -> dict[str, Any]:
        """The body of POST /api/graphs/validate."""
        root = self.root
        return {
            "ok": self.ok,
            "errors": [e.to_json() for e in self.errors],
            "nodes": _node_report(root) if root else {},
            "total_params": root.n_params if root else 0,
        }


def _node_report(scope: Scope) -> dict[str, Any]:
    out = {}
    for n in scope.nodes.values():
        info: dict[str, Any] = {"output_shape": list(n.shape) if n.shape is not None else None, "params": n.n_params}
        if n.shares:
            info["shared_with"] = n.shares
        if n.kind is not None and n.params is not None and n.kind.params.model_fields:
            info["resolved"] = n.params.model_dump(mode="json")
        if n.scope is not None:
            info["inner"] = _node_report(n.scope)
        out[n.id] = info
    return out


@dataclass(frozen=True)
class Limits:
    max_nodes: int = 5000
    max_params: int = 100_000_000
    max_train_bytes: int = 8 * 1024**3  # checked when a run is planned (it needs the batch size)


def analyze(doc: GraphDoc, limits: Limits = Limits()) -> Analysis:
    return _Analyzer(doc, limits).run()


class _Analyzer:
    def __init__(self, doc: GraphDoc, limits: Limits):
        self.doc, self.limits = doc, limits
        self.errors: list[Error] = []
        # (block name, input shapes) -> (scope or None, errors relative to the instance)
        self.cache: dict[tuple, tuple[Scope | None, list[Error]]] = {}
        self.bad_blocks: set[str] = set()

    # ------------------------------------------------------------------ entry
    def run(self) -> Analysis:
        doc, lim = self.doc, self.limits
        n_doc = len(doc.nodes) + sum(len(b.nodes) for b in doc.blocks.values())
        if n_doc > lim.max_nodes:
            return self._refuse(f"the design has {n_doc:,} nodes; the limit is {lim.max_nodes:,}")
        self._check_blocks()
        root = self._scope(doc.nodes, doc.edges, None, None, self.errors)
        if root is None:
            return Analysis(self.errors, None)
        if root.n_nodes > lim.max_nodes:
            return self._refuse(
                f"the design expands to {root.n_nodes:,} nodes once its blocks are instantiated; "
                f"the limit is {lim.max_nodes:,}"
            )
        if root.n_params > lim.max_params:
            return self._refuse(f"the design has {root.n_params:,} parameters; the limit is {lim.max_params:,}")
        return Analysis(self.errors, root)

    def _refuse(self, message: str) -> Analysis:
        return Analysis([Error((), None, message)], None)

    def _check_blocks(self) -> None:
        uses = {name: {n.type for n in b.nodes if n.type in self.doc.blocks} for name, b in self.doc.blocks.items()}
        for name in self.doc.blocks:
            if not BLOCK_NAME_RE.match(name) or len(name) > 64:
                self.errors.append(Error((), None, f"block name '{name}' must be a Python-style name: letters, digits, _", name))
                self.bad_blocks.add(name)
            elif name in REGISTRY:
                self.errors.append(Error((), None, f"block name '{name}' is already a built-in block type", name))
                self.bad_blocks.add(name)
            cycle = _find_cycle(name, uses)
            if cycle:
                self.errors.append(
                    Error((), None, f"block '{name}' contains itself ({' → '.join(cycle)}); blocks cannot be recursive", name)
                )
                self.bad_blocks.add(name)

    # ------------------------------------------------------------------ one scope
    def _scope(
        self,
        nodes: list[Node],
        edges: list[Edge],
        block: str | None,
        feed: dict[str, In] | None,  # inside a block: Input id -> incoming shape
        errors: list[Error],
    ) -> Scope | None:
        def err(node: str | None, fld: str | None, msg: str, severity: str = "error") -> None:
            errors.append(Error((node,) if node else (), fld, msg, block, severity))

        # 1. ids and types
        pnodes: dict[str, PNode] = {}
        raw: dict[str, Node] = {}
        for n in nodes:
            label = f"node '{n.id}'"
            if not ID_RE.match(n.id):
                err(n.id, "id", f"{label} has a malformed id: use letters, digits and _ only (it names the state_dict keys)")
                continue
            if n.id in RESERVED_IDS:
                err(n.id, "id", f"{label}: '{n.id}' is reserved by torch's nn.Module; pick another id")
                continue
            if n.id in raw:
                err(n.id, "id", f"{label}: the id '{n.id}' is used by more than one node; ids must be unique")
                continue
            raw[n.id] = n
            kind = REGISTRY.get(n.type)
            if kind is None and n.type not in self.doc.blocks:
                hint = _suggest(n.type, [*REGISTRY, *self.doc.blocks])
                err(n.id, "type", f"{label} has unknown type '{n.type}'" + (f"; did you mean '{hint[0]}'?" if hint else ""))
                continue
            pnodes[n.id] = PNode(n.id, n.type, kind, trainable=n.trainable)

        # 2. edges -> ports
        ports: dict[str, list[Port]] = {i: self._ports(p) for i, p in pnodes.items()}
        preds: dict[str, list[str]] = {i: [] for i in pnodes}
        wires: dict[str, list[str]] = {}  # every edge between existing nodes, broken ones included
        for e in edges:
            bad = [x for x in (e.source, e.target) if x not in raw]
            if bad:
                ok_end = e.target if e.target in raw else e.source if e.source in raw else None
                err(ok_end, "edges", f"an edge from '{e.source}' to '{e.target}' refers to a missing node '{bad[0]}'")
                continue
            wires.setdefault(e.target, []).append(e.source)
            if e.target not in pnodes:
                continue  # already reported (bad type or id)
            tgt = pnodes[e.target]
            names = [p.name for p in ports[e.target]]
            label = f"{tgt.type} '{tgt.id}'"
            if not names:
                err(e.target, "edges", f"{label} takes no inputs, but an edge comes from '{e.source}'")
                continue
            port = e.target_port
            if port is None:
                free = [p for p in names if p not in tgt.inputs]
                port = free[0] if free else names[0]
            if port not in names:
                err(e.target, port, f"{label} has no input port '{port}'; its ports are {', '.join(names)}")
                continue
            if port in tgt.inputs:
                err(e.target, port, f"{label} has two edges into port '{port}' (from '{tgt.inputs[port]}' and '{e.source}')")
                continue
            tgt.inputs[port] = e.source  # a source with a bad type still fills the port: no cascade
            if e.source in pnodes:
                preds[e.target].append(e.source)
        for n in pnodes.values():
            n.inputs = {p.name: n.inputs[p.name] for p in ports[n.id] if p.name in n.inputs}
            for p in ports[n.id]:
                if not p.optional and p.name not in n.inputs:
                    what = f"port '{p.name}'" if len(ports[n.id]) > 1 else "an input"
                    err(n.id, p.name, f"{n.type} '{n.id}' has no edge into {what}; connect something to it")

        inputs = [i for i, n in pnodes.items() if n.role == "input"]
        outputs = [i for i, n in pnodes.items() if n.role == "output"]
        where = f"block '{block}'" if block else "the design"
        if not inputs:
            err(None, None, f"{where} has no Input node")
        if not outputs:
            err(None, None, f"{where} has no Output node")
        if block and len(outputs) > 1:
            err(outputs[1], None, f"{where} has {len(outputs)} Output nodes; a block returns exactly one")

        # 3. topological order (Kahn); what is left over lies on a cycle
        order = _toposort(pnodes, preds)
        if len(order) < len(pnodes):
            left = _on_cycles([i for i in pnodes if i not in set(order)], preds)
            for i in left:
                others = ", ".join(f"'{o}'" for o in left if o != i)
                err(i, None, f"{pnodes[i].type} '{i}' is part of a cycle (with {others}); a network must flow one way")

        # 4. params, shares, shapes, init: in order
        for i in order:
            self._node(pnodes[i], raw[i], pnodes, raw, feed, err, errors)
        for i in order:
            self._check_share(pnodes[i], pnodes, raw, err)

        # 5. nodes whose result never reaches an Output
        live = _reaches(outputs, wires)
        for n in pnodes.values():
            n.live = n.id in live
            if not n.live and n.role is None and n.id in set(order):
                err(n.id, None, f"the output of {n.type} '{n.id}' is not used by anything that reaches an Output",
                    "warning")

        scope = Scope(block, {i: pnodes[i] for i in order}, inputs, outputs)
        scope.n_params = sum(n.n_params for n in scope.nodes.values() if not n.shares)
        scope.n_nodes = sum(n.scope.n_nodes if n.scope else 1 for n in scope.nodes.values())
        return scope

    def _ports(self, n: PNode) -> list[Port]:
        if n.kind is not None:
            return list(n.kind.ports)
        b = self.doc.blocks[n.type]
        return [Port(m.id) for m in b.nodes if REGISTRY.get(m.type) is not None and REGISTRY[m.type].role == "input"]

    # ------------------------------------------------------------------ one node
    def _node(self, n: PNode, raw: Node, pnodes, raws, feed, err, errors: list[Error]) -> None:
        label = f"{n.type} '{n.id}'"
        params = raw.params
        if raw.shares is not None and not params and raw.shares in raws:
            params = raws[raw.shares].params  # a sharing node may leave its params out
        ins_ok = all(s in pnodes and pnodes[s].shape is not None for s in n.inputs.values())
        ins = {p: In(pnodes[s].shape, s) for p, s in n.inputs.items()} if ins_ok else None

        if n.kind is None:  # composite block instance
            if params:
                err(n.id, "params", f"{label} is an instance of block '{n.type}', which takes no params")
            if raw.init:
                err(n.id, "init", f"{label} is a block instance; set init on the nodes inside block '{n.type}'")
            if n.type in self.bad_blocks or ins is None or len(ins) < len(self._ports(n)):
                return
            self._instance(n, ins, errors)
            return

        try:
            p = n.kind.params.model_validate(params)
        except ValidationError as e:
            for d in e.errors():
                fld = ".".join(str(x) for x in d["loc"]) or None
                err(n.id, fld, f"{label}: " + (f"param '{fld}' " if fld else "") + _pydantic_msg(d))
            return
        if n.role == "input":
            ins = {"x": feed[n.id]} if feed and n.id in feed else {}
        elif ins is None or any(not pt.optional and pt.name not in ins for pt in n.kind.ports):
            return
        if n.kind.takes_indices and any(pnodes[s].role != "input" for s in n.inputs.values()):
            src = next(s for s in n.inputs.values() if pnodes[s].role != "input")
            err(n.id, "x", f"{label} looks up integer indices, so it must be fed by an Input; '{src}' produces real numbers")
            return
        try:
            n.params, n.shape = n.kind.infer(p, ins)
        except ShapeError as e:
            err(n.id, e.field, f"{label} {e.message}")
            return
        except (ArithmeticError, ValueError, OverflowError) as e:  # a rule fed absurd sizes
            err(n.id, None, f"{label} cannot take its inputs: {e}")
            return
        n.n_params = n.kind.count(n.params)
        self._inits(n, raw, err)

    def _instance(self, n: PNode, ins: dict[str, In], errors: list[Error]) -> None:
        key = (n.type, tuple((p, x.shape) for p, x in ins.items()))
        if key not in self.cache:
            b = self.doc.blocks[n.type]
            rel: list[Error] = []
            self.cache[key] = (None, rel)  # guards against re-entry
            scope = self._scope(b.nodes, b.edges, n.type, ins, rel)
            if scope is not None:
                scope.key = key
            self.cache[key] = (scope if scope and not any(e.severity == "error" for e in rel) else None, rel)
        scope, rel = self.cache[key]
        errors.extend(Error((n.id, *e.path), e.field, e.message, e.block, e.severity) for e in rel)
        if scope is None:
            return
        n.scope = scope
        n.shape = scope.nodes[scope.outputs[0]].shape
        n.n_params = scope.n_params

    def _inits(self, n: PNode, raw: Node, err) -> None:
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
                hint = _suggest(spec.fn, list(INITS))
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
                    err(n.id, f"{fld}.{arg}", f"{n.type} '{n.id}': {spec.fn} argument '{arg}' {_pydantic_msg(d)}")
                continue
            n.inits.append(InitCall(name, init, args))

    def _check_share(self, n: PNode, pnodes: dict[str, PNode], raws: dict[str, Node], err) -> None:
        if raws[n.id].shares is None:
            return
        label = f"{n.type} '{n.id}'"
        root, seen = raws[n.id].shares, {n.id}
        while True:
            if root not in pnodes:
                err(n.id, "shares", f"{label} shares parameters with '{root}', which is not a node of this graph")
                return
            if root in seen:
                err(n.id, "shares", f"{label}: its shares links form a loop through '{root}'")
                return
            seen.add(root)
            nxt = raws[root].shares
            if nxt is None:
                break
            root = nxt
        t = pnodes[root]
        if t.type != n.type:
            err(n.id, "shares", f"{label} cannot share parameters with {t.type} '{t.id}': the types differ")
            return
        if n.role is not None:
            err(n.id, "shares", f"{label}: {n.type} nodes have nothing to share")
            return
        if n.shape is None or t.shape is None:
            return  # the reason is reported on the node itself
        if n.scope is not None or t.scope is not None:
            if n.scope is not t.scope:
                err(n.id, "shares", f"{label} shares block instance '{t.id}', but their inputs have different shapes")
                return
        elif n.params != t.params:
            a, b = n.params.model_dump(), t.params.model_dump()
            diff = ", ".join(f"{k}={a[k]!r} here but {b[k]!r} in '{t.id}'" for k in a if a[k] != b[k])
            err(n.id, "shares", f"{label} cannot share parameters with '{t.id}': {diff}")
            return
        if n.trainable != t.trainable:
            err(n.id, "trainable", f"{label} shares '{t.id}'; set trainable on '{t.id}' only")
            return
        n.shares = root


def _toposort(pnodes: dict[str, PNode], preds: dict[str, list[str]]) -> list[str]:
    indeg = {i: len(p) for i, p in preds.items()}
    succ: dict[str, list[str]] = {i: [] for i in pnodes}
    for i, ps in preds.items():
        for s in ps:
            succ[s].append(i)
    ready = deque(i for i in pnodes if indeg[i] == 0)
    order = []
    while ready:
        i = ready.popleft()
        order.append(i)
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                ready.append(j)
    return order


def _on_cycles(left: list[str], preds: dict[str, list[str]]) -> list[str]:
    """Kahn leaves cycles *and* what hangs below them; peel off nodes with no successor left."""
    keep = set(left)
    while True:
        fed = {s for i in keep for s in preds[i] if s in keep}
        sinks = keep - fed
        if not sinks:
            return [i for i in left if i in keep]
        keep -= sinks


def _reaches(outputs: list[str], wires: dict[str, list[str]]) -> set[str]:
    live, stack = set(), list(outputs)
    while stack:
        i = stack.pop()
        if i in live:
            continue
        live.add(i)
        stack.extend(wires.get(i, ()))
    return live


def _find_cycle(start: str, uses: dict[str, set[str]]) -> list[str] | None:
    stack = [(start, [start])]
    seen = set()
    while stack:
        cur, path = stack.pop()
        for nxt in sorted(uses.get(cur, ())):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


def _suggest(word: str, choices: list[str]) -> list[str]:
    by_lower = {c.lower(): c for c in choices}
    if word.lower() in by_lower:
        return [by_lower[word.lower()]]
    return [by_lower[m] for m in difflib.get_close_matches(word.lower(), by_lower, n=1)]


def _pydantic_msg(d: dict) -> str:
    msg = d["msg"]
    if d["type"] == "missing":
        return "is required"
    if d["type"] == "extra_forbidden":
        return "is not a parameter of this block"
    msg = msg.removeprefix("Input ").removeprefix("Value error, ")
    got = repr(d.get("input"))
    return f"{msg}, got {got[:40]}" if len(got) <= 40 else msg
