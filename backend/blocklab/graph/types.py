"""The analysed graph: what the passes (analyze, memory, codegen) read and write.

`analyze` turns a document into an `Analysis`: every error, and the root `Scope`, whose
nodes (`PNode`s) are resolved and in topological order. `codegen` turns the scopes into
PyTorch source and `memory` estimates what they need; neither runs the analysis again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from blocklab.blocks.base import BlockType, Shape
from blocklab.graph.inits import Init

MAX_ERRORS = 100  # entries per analysis; the last one counts the rest
MAX_MESSAGE = 1000  # characters per message


@dataclass(frozen=True)
class Limits:
    max_nodes: int = 5000
    max_params: int = 100_000_000  # values held by the model: parameters, buffers and constants
    max_train_bytes: int = 8 * 1024**3  # the memory estimate; analyze checks it at a batch of 1


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
        if len(msg) > MAX_MESSAGE:
            msg = msg[: MAX_MESSAGE - 1] + "…"
        out: dict[str, Any] = {"node": self.path[0] if self.path else None, "field": self.field, "message": msg}
        if len(self.path) > 1:
            out |= {"path": ".".join(self.path), "block": self.block}
        if self.severity != "error":
            out["severity"] = self.severity
        return out


def capped(errors: list[Error]) -> list[Error]:
    """At most MAX_ERRORS entries, errors before warnings, the last one counting the rest."""
    if len(errors) <= MAX_ERRORS:
        return errors
    ranked = sorted(errors, key=lambda e: e.severity != "error")  # stable: document order within each
    keep, rest = ranked[: MAX_ERRORS - 1], ranked[MAX_ERRORS - 1 :]
    severity = "error" if any(e.severity == "error" for e in rest) else "warning"
    return [*keep, Error((), None, f"… and {len(rest):,} more", severity=severity)]


@dataclass
class InitCall:
    param: str
    init: Init
    args: Any


@dataclass(slots=True)
class PNode:
    """One node of a scope, resolved: what codegen needs to emit it."""

    id: str
    type: str
    kind: BlockType | None  # None for a composite block instance
    params: Any = None
    scope: Scope | None = None  # the specialised block, for an instance
    inputs: dict[str, str] = field(default_factory=dict)  # port -> source node id, in port order
    taps: dict[str, str] = field(default_factory=dict)  # port -> the source's named output it takes, where one is named
    shape: Shape | None = None  # the output an edge without a source port takes
    out_shapes: dict[str, Shape] | None = None  # every named output (a block with Outputs)
    shares: str | None = None  # root node whose module this node reuses
    calls: str | None = None  # node whose module this node calls again (no attribute of its own)
    inits: list[InitCall] = field(default_factory=list)
    trainable: bool = True
    n_params: int = 0
    n_buffers: int = 0  # values in buffers (CustomLayer constants), nested blocks included
    live: bool = True  # False: nothing downstream reaches an Output
    present: bool = True  # False: its `when` is false here, so its input passes through
    copies: list[Scope] = field(default_factory=list)  # an instance: one specialised block per copy
    args: list[dict] = field(default_factory=list)  # an instance: each copy's bound arguments
    repeated: bool = False  # an instance with `repeat`: an nn.Sequential of its copies
    n_nodes: int = 1  # expanded: nested instances' nodes included

    def output(self, port: str | None) -> Shape | None:
        """The shape of one output: the default (port None) or a named one."""
        return self.shape if port is None else (self.out_shapes or {}).get(port)

    def fed(self, port: str, nodes: dict[str, PNode]) -> Shape | None:
        """The shape that arrives at one of this node's input ports."""
        return nodes[self.inputs[port]].output(self.taps.get(port))

    @property
    def has_module(self) -> bool:
        if not self.present:
            return False
        return self.scope is not None or (self.kind is not None and self.kind.module is not None)

    def parts(self) -> list[tuple[tuple[str, ...], Scope]]:
        """(path below this node, scope) of each copy: ((), scope) unless repeated."""
        if not self.repeated:
            return [((), self.scope)] if self.scope is not None else []
        return [((str(k),), s) for k, s in enumerate(self.copies)]

    @property
    def role(self) -> str | None:
        return self.kind.end if self.kind else None  # the graph end it is (input/output), or None


@dataclass
class Scope:
    """A graph (top level or one specialisation of a block): its nodes in topological order."""

    block: str | None
    nodes: dict[str, PNode]  # topological: the forward's order
    inputs: list[str]
    outputs: list[str]
    n_params: int = 0  # unique parameters, tied ones once
    n_buffers: int = 0  # unique buffer values, tied ones once
    n_nodes: int = 0  # expanded: nodes of nested instances included
    key: tuple = ()
    decl: list[str] = field(default_factory=list)  # ids in document order: __init__ (state_dict) order
    args: dict = field(default_factory=dict)  # a block's bound arguments (this specialisation's)
    raw: dict = field(default_factory=dict)  # node id -> its document Node (expressions, when, repeat)
    specs: dict = field(default_factory=dict)  # the block's declared args: name -> ArgSpec

    def declared(self) -> list[PNode]:
        """The nodes in document order (every scope's __init__ and state_dict order)."""
        return [self.nodes[i] for i in self.decl] if self.decl else list(self.nodes.values())

    def taken(self) -> dict[str, set[str | None]]:
        """Each node with several outputs (Outputs) -> which of them live nodes take: a name, or
        None for its default one. The exporters call such a node once and pick each."""
        out: dict[str, set[str | None]] = {}
        for n in self.nodes.values():
            for port, src in n.inputs.items():
                kind = self.nodes[src].kind
                if n.live and kind is not None and kind.outputs is not None:
                    out.setdefault(src, set()).add(n.taps.get(port))
        return out


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
                for _, inner in n.parts():
                    if id(inner) not in seen:
                        visit(inner)
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


def _node_report(scope: Scope, dumps: dict[int, Any] | None = None) -> dict[str, Any]:
    dumps = {} if dumps is None else dumps  # id(params) -> its JSON: nodes resolved alike share one
    out = {}
    for n in scope.nodes.values():
        info: dict[str, Any] = {"output_shape": list(n.shape) if n.shape is not None else None, "params": n.n_params}
        if n.out_shapes is not None:
            info["output_shapes"] = {k: list(v) for k, v in n.out_shapes.items()}
        if n.shares:
            info["shared_with"] = n.shares
        if n.calls:
            info["calls"] = n.calls
        if n.kind is not None and n.params is not None and n.kind.params.model_fields:
            if id(n.params) not in dumps:
                dumps[id(n.params)] = n.params.model_dump(mode="json")
            info["resolved"] = dumps[id(n.params)]
        if not n.present:
            info["absent"] = True  # its when is false: its input passes through
        if n.scope is not None:
            info["inner"] = _node_report(n.scope, dumps)
            if n.args and n.args[0]:
                info["args"] = n.args[0]
        if n.repeated:
            info["copies"] = [{"output_shape": list(c.nodes[c.outputs[0]].shape), "params": c.n_params, "args": a}
                              for c, a in zip(n.copies, n.args)]
        out[n.id] = info
    return out
