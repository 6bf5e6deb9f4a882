"""Validation and shape inference: document -> Analysis (every error, each with its node).

The analysis walks each graph scope (the top level, and each composite block once per
distinct set of input shapes) in topological order and asks each block's own shape rule
for its output shape. No tensor is allocated: a 1,000-node chain takes a few ms. Last, the
design's size is held against the limits (nodes, stored values, memory at a batch of 1),
each error naming the nodes at fault and the setting. The resulting scopes (graph/types.py)
are the plan that `codegen` turns into PyTorch source.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from blocklab.blocks import REGISTRY
from blocklab.blocks.base import In, Port, ShapeError
from blocklab.graph import args as A
from blocklab.graph import checks, memory, topology
from blocklab.graph.document import Edge, GraphDoc, Node
from blocklab.graph.instances import Specialiser
from blocklab.graph.types import Analysis, Error, Limits, PNode, Scope, capped
from blocklab.graph.wiring import wire

__all__ = ["Analysis", "Error", "Limits", "PNode", "Scope", "analyze"]


def analyze(doc: GraphDoc, limits: Limits = Limits()) -> Analysis:
    return _Analyzer(doc, limits).run()


class _Analyzer(Specialiser):
    def __init__(self, doc: GraphDoc, limits: Limits):
        self.doc, self.limits = doc, limits
        self.errors: list[Error] = []
        # (block name, input shapes) -> (scope or None, errors relative to the instance)
        self.cache: dict[tuple, tuple[Scope | None, list[Error]]] = {}
        self.bad_blocks: set[str] = set()
        self.block_ports: dict[str, tuple[Port, ...]] = {}
        # (type, params, input shapes) -> what the shape rule made of them (successes only)
        self.resolved: dict[tuple, tuple] = {}

    # ------------------------------------------------------------------ entry
    def run(self) -> Analysis:
        doc, lim = self.doc, self.limits
        n_doc = len(doc.nodes) + sum(len(b.nodes) for b in doc.blocks.values())
        if n_doc > lim.max_nodes:
            return self._refuse(f"the design has {n_doc:,} nodes; the limit is {lim.max_nodes:,} (BLOCKLAB_MAX_NODES)")
        self.bad_blocks = checks.bad_blocks(doc, self.errors) | A.check_defs(doc, self.errors)
        root = self._scope(doc.nodes, doc.edges, None, None, self.errors, None)
        if root is None:
            return Analysis(capped(self.errors), None)
        if root.n_nodes > lim.max_nodes:  # no shapes: the report would list every expanded node
            return self._refuse(
                f"the design expands to {root.n_nodes:,} nodes once its blocks are instantiated; "
                f"the limit is {lim.max_nodes:,} (BLOCKLAB_MAX_NODES)")
        self.errors += memory.limit_errors(root, lim)
        return Analysis(capped(self.errors), root)

    def _refuse(self, message: str) -> Analysis:
        return Analysis([Error((), None, message)], None)

    # ------------------------------------------------------------------ one scope
    def _scope(self, nodes: list[Node], edges: list[Edge], block: str | None,
               feed: dict[str, In] | None,  # inside a block: Input id -> incoming shape
               errors: list[Error], env: A.Env | None) -> Scope | None:  # env: the block's args
        def err(node: str | None, fld: str | None, msg: str, severity: str = "error") -> None:
            errors.append(Error((node,) if node else (), fld, msg, block, severity))

        pnodes, raw = self._resolve(nodes, err)
        ports = {i: self._ports(p) for i, p in pnodes.items()}
        wiring = wire(pnodes, raw, ports, edges, err)
        inputs = [i for i, n in pnodes.items() if n.role == "input"]
        outputs = [i for i, n in pnodes.items() if n.role == "output"]
        self._ends(block, inputs, outputs, err)

        order = topology.toposort(list(pnodes), wiring.preds)
        if len(order) < len(pnodes):  # what Kahn leaves lies on or behind a cycle
            done = set(order)
            for path, group in topology.cycles([i for i in pnodes if i not in done], wiring.preds):
                text = topology.describe(path)
                for i in group:
                    err(i, None, f"{pnodes[i].type} '{i}' is part of a cycle ({text}); a network must flow one way")

        expanded = 0
        for i in order:
            self._node(pnodes[i], raw[i], pnodes, raw, feed, err, errors, env)
            expanded += pnodes[i].n_nodes
            if expanded > self.limits.max_nodes:  # stop expanding: the rest could only add to it
                err(i, None, f"{'this block' if block else 'the design'} expands to more than {self.limits.max_nodes:,} "
                             f"nodes once its instances and repeats are counted (BLOCKLAB_MAX_NODES); '{i}' passes it")
                return None
        for i in order:
            checks.share(pnodes[i], pnodes, raw, err)
            checks.calls(pnodes[i], pnodes, raw, err)

        live = topology.reaches(outputs, wiring.wires)
        ordered = {i: pnodes[i] for i in order}
        for n in pnodes.values():
            n.live = n.id in live
            if not n.live and n.role is None and n.id in ordered:
                err(n.id, None, f"the output of {n.type} '{n.id}' is not used by anything that reaches an Output",
                    "warning")

        scope = Scope(block, ordered, inputs, outputs, decl=[i for i in pnodes if i in ordered], args=env or {},
                      raw=raw, specs=(self.doc.blocks[block].args or {}) if block else {})
        held = [n for n in ordered.values() if not (n.shares or n.calls)]
        scope.n_params = sum(n.n_params for n in held)
        scope.n_buffers = sum(n.n_buffers for n in held)
        scope.n_nodes = sum(n.n_nodes for n in ordered.values())
        return scope

    def _resolve(self, nodes: list[Node], err) -> tuple[dict[str, PNode], dict[str, Node]]:
        """Ids and types: the nodes worth analysing, and every node with a usable id."""
        pnodes: dict[str, PNode] = {}
        raw: dict[str, Node] = {}
        for n in nodes:
            problem = checks.id_problem(n, raw)
            if problem:
                err(n.id, "id", problem)
                continue
            raw[n.id] = n
            kind = REGISTRY.get(n.type)
            if kind is None and n.type not in self.doc.blocks:
                err(n.id, "type", checks.unknown_type(n, self.doc))
                continue
            pnodes[n.id] = PNode(n.id, n.type, kind, trainable=n.trainable)
        return pnodes, raw

    def _ends(self, block: str | None, inputs: list[str], outputs: list[str], err) -> None:
        where = f"block '{block}'" if block else "the design"
        if not inputs:
            err(None, None, f"{where} has no Input node")
        if not outputs:
            err(None, None, f"{where} has no Output node")
        if block and len(outputs) > 1:
            err(outputs[1], None, f"{where} has {len(outputs)} Output nodes; a block returns exactly one")

    def _ports(self, n: PNode) -> tuple[Port, ...]:
        if n.kind is not None:
            return n.kind.ports
        if n.type not in self.block_ports:
            b = self.doc.blocks[n.type]
            self.block_ports[n.type] = tuple(Port(m.id) for m in b.nodes
                                             if m.type in REGISTRY and REGISTRY[m.type].role == "input")
        return self.block_ports[n.type]

    # ------------------------------------------------------------------ one node
    def _node(self, n: PNode, raw: Node, pnodes, raws, feed, err, errors: list[Error], env) -> None:
        label = f"{n.type} '{n.id}'"
        params = raw.params
        present = A.when(raw, env, err)
        if present is None:
            return
        if not present:
            self._absent(n, raw, pnodes, env, err)
            return
        if raw.repeat is not None and (n.kind is not None or raw.calls is not None):
            what = "calls another node" if n.kind is None else "is a built-in block"
            err(n.id, "repeat", f"{label} {what}; only block instances repeat (put it in a block)")
            return
        root = checks.chain_end(raw, raws, "shares")
        if raw.shares is not None and not params and root is not None:
            params = root.params  # a sharing node may leave its params out: its chain's root's
        called = checks.chain_end(raw, raws, "calls")
        if raw.calls is not None and called is not None and called.type == raw.type:  # else checks.calls says
            if params:
                err(n.id, "params", f"{label} calls '{raw.calls}' again, so it has no params of its own; leave them out")
            params = called.params  # the called module's, hence its params (at the end of a chain)
            if called.repeat is not None and raw.repeat is None:  # and its copies
                raw = raw.model_copy(update={"repeat": called.repeat})
        ins: dict[str, In] | None = {}
        for p, s in n.inputs.items():
            src = pnodes.get(s)
            shape = None if src is None else src.output(n.taps.get(p))
            if shape is None:
                if src is not None and src.shape is not None and not src.present:
                    err(n.id, p, f"{label} takes output '{n.taps[p]}' of '{s}', which is absent here (its when is "
                                 "false) and passes its input through")
                ins = None
                break
            ins[p] = In(shape, s)

        if n.kind is None:  # composite block instance
            if raw.init:
                err(n.id, "init", f"{label} is a block instance; set init on the nodes inside block '{n.type}'")
            if n.type in self.bad_blocks or ins is None or len(ins) < len(self._ports(n)):
                return
            self._instances(n, raw, params, ins, env, err, errors)
            return
        params = A.substitute(raw, params, env, err)
        if params is None:
            return

        if n.role == "input":
            ins = {"x": feed[n.id]} if feed and n.id in feed else {}
        # The same block on the same shapes (a chain's layers) resolves the same way. Not for
        # blocks whose check also looks at the sources' roles.
        key = None if n.kind.takes_indices else _key(n.type, params, ins)
        if key is not None and key in self.resolved:
            n.params, n.shape, n.out_shapes, n.n_params, n.n_buffers = self.resolved[key]
        elif not self._infer(n, params, ins, pnodes, err):
            return
        elif key is not None:
            self.resolved[key] = (n.params, n.shape, n.out_shapes, n.n_params, n.n_buffers)
        checks.inits(n, raw, err)

    def _infer(self, n: PNode, params: dict, ins: dict[str, In] | None, pnodes, err) -> bool:
        """Params, shape and sizes of a built-in block from its shape rule; False on an error."""
        label = f"{n.type} '{n.id}'"
        try:
            p = n.kind.params.model_validate(params)
        except ValidationError as e:
            for d in e.errors():
                fld = ".".join(str(x) for x in d["loc"]) or None
                err(n.id, fld, f"{label}: " + (f"param '{fld}' " if fld else "") + checks.pydantic_msg(d))
            return False
        if ins is None or any(not pt.optional and pt.name not in ins for pt in n.kind.ports):
            return False
        if n.kind.takes_indices and any(pnodes[s].role != "input" for s in n.inputs.values()):
            src = next(s for s in n.inputs.values() if pnodes[s].role != "input")
            err(n.id, "x", f"{label} looks up integer indices, so it must be fed by an Input; '{src}' produces real numbers")
            return False
        try:
            n.params, n.shape = n.kind.infer(p, ins)
            if n.kind.outputs is not None:
                n.out_shapes = n.kind.outputs.shapes(n.params, ins)
        except ShapeError as e:
            err(n.id, e.field, f"{label} {e.message}")
            return False
        except (ArithmeticError, ValueError, OverflowError) as e:  # a rule fed absurd sizes
            err(n.id, None, f"{label} cannot take its inputs: {str(e)[:200]}")
            return False
        n.n_params = n.kind.count(n.params)
        n.n_buffers = memory.buffer_values(n.kind, n.params)
        return True


def _key(type_: str, params: dict, ins: dict[str, In] | None) -> tuple | None:
    """A hashable stand-in for a shape rule's arguments (the source ids aside: only error
    messages name them, and errors are not reused), or None when there is none cheaply."""
    if ins is None:
        return None
    try:
        frozen = tuple((k, type(v), v) for k, v in params.items())  # type too: 1, 1.0 and True differ
        hash(frozen)
    except TypeError:  # lists or dicts inside
        frozen = json.dumps(params, sort_keys=True)
    return type_, frozen, tuple((p, x.shape) for p, x in ins.items())
