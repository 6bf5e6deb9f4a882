"""Where a node's `when` is false, and where an instance becomes specialised blocks: one
scope per copy of a `repeat`, each for its bound args and input shapes, cached so copies
and instances alike are analysed once. A mixin of the analyser (graph/analyze.py), which
provides `_scope`, `_infer`, `_ports`, `doc`, `limits` and `cache`.
"""

from __future__ import annotations

from blocklab.blocks.base import In
from blocklab.graph import args as A
from blocklab.graph.document import Node
from blocklab.graph.types import Error, PNode, Scope


def _quiet(*_a, **_k) -> None:
    pass


class Specialiser:
    def _absent(self, n: PNode, raw: Node, pnodes, env, err) -> None:
        """A node whose `when` is false: its one input passes through."""
        label = f"{n.type} '{n.id}'"
        n.present, n.n_nodes = False, 0
        if n.role is not None or len(n.inputs) != 1:
            what = "a graph end" if n.role is not None else f"fed by {len(n.inputs)} inputs"
            err(n.id, "when", f"{label} is {what}, so it cannot be left out: when it is false, "
                              "a node's one input passes through in its place")
            return
        port = next(iter(n.inputs))
        src, given = pnodes[n.inputs[port]], n.fed(port, pnodes)
        n.shape = given
        if given is None or n.kind is None and n.type in self.bad_blocks:
            return
        # Present, would it keep its input's shape? Else whatever follows sees another shape when it is absent.
        quiet = PNode(n.id, n.type, n.kind, inputs=n.inputs)
        if n.kind is None:
            self._instances(quiet, raw, raw.params, {port: In(given, src.id)}, env, _quiet, [])
        else:
            params = A.substitute(raw, raw.params, env, _quiet)
            if params is not None:
                self._infer(quiet, params, {port: In(given, src.id)}, pnodes, _quiet)
        if quiet.shape is not None and quiet.shape != given:
            err(n.id, "when", f"{label} is absent here (its when '{raw.when[:60]}' is false), so its input "
                              f"{list(given)} would pass through in place of its output {list(quiet.shape)}; "
                              "a node that can be left out must keep its input's shape")
            n.shape = None

    def _instances(self, n: PNode, raw: Node, params: dict, ins: dict[str, In], env, err, errors) -> None:
        """Specialise the block for each copy: copy k's args over i = k, fed copy k-1's output."""
        b = self.doc.blocks[n.type]
        count = A.repeat(raw, env, err)
        if count is None:
            return
        if count > 1 and (len(ins) != 1 or len(self._ports(n)) != 1):
            err(n.id, "repeat", f"{n.type} '{n.id}': repeat chains copies, so block '{n.type}' needs one Input "
                                f"(it has {len(self._ports(n))})")
            return
        n.repeated = raw.repeat is not None
        seen: set = set()
        for k in range(count):
            scope_env = env if not n.repeated else {**(env or {}), A.INDEX: k}
            given = A.substitute(raw, params, scope_env, err)
            bound = None if given is None else A.bind(raw, b.args or {}, given, err)
            if bound is None:
                return
            sub = (str(k),) if n.repeated else ()
            scope = self._instance(n.type, ins, bound, (n.id, *sub), errors, seen)
            if scope is None:
                return
            n.copies.append(scope)
            n.args.append(bound)
            n.n_nodes = sum(c.n_nodes for c in n.copies)
            if n.n_nodes + (count - k - 1) * scope.n_nodes > self.limits.max_nodes:
                err(n.id, "repeat", f"{n.type} '{n.id}' expands to {n.n_nodes + (count - k - 1) * scope.n_nodes:,} "
                                    f"nodes ({count:,} copies); the limit is {self.limits.max_nodes:,} (BLOCKLAB_MAX_NODES)")
                return
            port = next(iter(ins))
            ins = {port: In(scope.nodes[scope.outputs[0]].shape, n.id)}
        n.scope = n.copies[0]
        n.shape = n.copies[-1].nodes[n.copies[-1].outputs[0]].shape
        n.n_params = sum(c.n_params for c in n.copies)
        n.n_buffers = sum(c.n_buffers for c in n.copies)

    def _instance(self, block: str, ins: dict[str, In], bound: A.Env, path: tuple[str, ...], errors: list[Error],
                  seen: set) -> Scope | None:
        key = (block, tuple((p, x.shape) for p, x in ins.items()),
               tuple((k, type(v).__name__, v) for k, v in bound.items()))
        if key not in self.cache:
            b = self.doc.blocks[block]
            rel: list[Error] = []
            self.cache[key] = (None, rel)  # guards against re-entry
            scope = self._scope(b.nodes, b.edges, block, ins, rel, bound)
            if scope is not None:
                scope.key = key
            self.cache[key] = (scope if scope and not any(e.severity == "error" for e in rel) else None, rel)
        scope, rel = self.cache[key]
        if key not in seen:  # copies alike report once
            seen.add(key)
            errors.extend(Error((*path, *e.path), e.field, e.message, e.block, e.severity) for e in rel)
        return scope
