"""nn.Module -> graph document, with torch.fx (runs the user's code: local use only).

Each module is traced with its direct children as leaves. A child that is a registry layer
becomes that block; any other child is a container and becomes a composite block, traced
the same way (one definition per distinct content, reused by every instance; afterwards
`fx_merge` makes one per class with args, `fx_repeat` chains into repeats), so node ids
are the submodule names and the state_dict keys stay the original ones. Functions and
tensor methods map through `importers.functions`. The module runs once on the example
input (eval mode, no grad) to learn every shape, which sizes and reshapes need.
"""

from __future__ import annotations

import json
import operator
import re
from typing import Any

import torch
from torch import fx, nn

from blocklab.blocks import REGISTRY
from blocklab.blocks.base import In
from blocklab.graph.checks import ID_RE, RESERVED_IDS
from blocklab.graph.codegen import RESERVED_NAMES
from blocklab.importers.functions import MODULES, PASS, Spec, Unmapped, describe, map_call
from blocklab.importers.fx_custom import to_custom
from blocklab.importers.fx_graph import Recorder, Tracer, live as _live, mode as _mode, tensors_in as _tensors_in
from blocklab.importers.fx_states import State, Tap, element, settle, state_inputs, use
from blocklab.importers.fx_states import edge as to_edge
from blocklab.importers.layers import Mismatch, block_for, doc_params, params_for
from blocklab.importers.layout import layout
from blocklab.importers.stacks import traceable
from blocklab.importers.torch_args import harmless_keywords, takes_state

BAD, STATIC = object(), object()  # refs: an unmapped value (reported once), a non-tensor value


class Context:
    """State shared by every scope of one import: block definitions and what was not mapped."""

    def __init__(self) -> None:
        self.blocks: dict[str, dict] = {}
        self.by_content: dict[str, str] = {}
        self.ports: dict[str, list[str]] = {}  # block name -> its Input ids, in order
        self.classes: dict[str, str] = {}  # block name -> the Python class it was made from
        self.unsupported: list[dict[str, str]] = []

    def refuse(self, node: str, op: str, reason: str) -> None:
        self.unsupported.append({"node": node, "op": op, "reason": reason})

    def drop(self, name: str) -> None:
        definition = self.blocks.pop(name)
        self.by_content.pop(json.dumps(definition, sort_keys=True), None)
        self.ports.pop(name, None)
        self.classes.pop(name, None)

    def block_name(self, cls_name: str, definition: dict, ports: list[str]) -> str:
        key = json.dumps(definition, sort_keys=True)
        if key in self.by_content:
            return self.by_content[key]
        base = re.sub(r"\W", "_", cls_name)
        if not base.isidentifier() or base in REGISTRY or base in RESERVED_NAMES:
            base = f"{base}Block".lstrip("0123456789") or "Block"
        name, k = base, 2
        while name in self.blocks:
            name, k = f"{base}_{k}", k + 1
        self.blocks[name], self.by_content[key], self.ports[name] = definition, name, ports
        self.classes[name] = cls_name
        return name


class Scope:
    """One module's forward() as the nodes and edges of a graph (the document or a block)."""

    def __init__(self, ctx: Context, module: nn.Module, qual: str, args: tuple, root: bool):
        self.ctx, self.module, self.qual, self.args, self.root = ctx, module, qual, args, root
        self.nodes: list[dict] = []
        self.edges: list[dict] = []
        self.refs: dict[fx.Node, Any] = {}
        self.used = set(module._modules)  # every child name, a module registered twice included
        self.calls: dict[int, list[str]] = {}  # id(submodule) -> node ids calling it, first one owns it
        self.output: Any = None
        self.blocked = False  # the node being read is fed by an unmapped one

    def where(self, name: str) -> str:
        return f"{self.qual}.{name}" if self.qual else name

    def take(self, want: str) -> str:
        base = re.sub(r"\W", "_", want) or "n"
        if base in RESERVED_IDS:
            base = f"{base}_"
        name, k = base, 2
        while name in self.used:
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name

    def build(self) -> bool:
        what = type(self.module).__name__
        try:
            with _mode(self.module, True):  # F.dropout(training=self.training) records True -> Dropout
                graph = Tracer().trace(self.module)
        except Exception as e:  # data-dependent control flow, unsupported Python, ...
            self.ctx.refuse(self.qual or what, f"forward of {what}", f"torch.fx cannot trace it: {str(e).splitlines()[0][:300]}")
            return False
        gm = fx.GraphModule(self.module, graph)
        rec = Recorder(gm)
        try:
            with _mode(self.module, False), torch.no_grad():  # eval: running stats stay untouched
                rec.run(*self.args)
        except Exception as e:  # the user's module fails on this input
            self.ctx.refuse(self.qual or what, f"forward of {what}",
                            f"fails on the example input: {str(e).splitlines()[0][:300]}")
            return False
        live = _live(graph)
        for n in graph.nodes:
            if n in live:
                self.refs[n] = self._node(n, rec.values)
        settle(self.nodes, self.edges)
        return True

    # ------------------------------------------------------------------ one fx node
    def _node(self, n: fx.Node, values: dict[fx.Node, Any]) -> Any:
        if n.op == "placeholder":
            nid = self.take(n.target)
            params = {"shape": list(values[n].shape[1:])} if self.root else {}
            self.nodes.append({"id": nid, "type": "Input", "params": params})
            return nid
        if n.op == "output":
            return self._output(n)
        # Fed by something unmapped: still checked (to list every problem at once), never emitted.
        self.blocked = any(self.refs.get(a) is BAD for a in n.all_input_nodes)
        if not isinstance(values[n], torch.Tensor) and not _tensors_in(values[n]):
            return STATIC  # sizes (x.size(0)) and other plain values: used as constants
        if n.op == "get_attr":
            return self._refuse(n, n.target, "reads a parameter or buffer directly; only layers (blocks) can hold tensors")
        state = next((r for a in n.all_input_nodes if isinstance(r := self.refs.get(a), State)), None)
        if state is not None and n.op != "call_module":  # a final state in torch's layout (fx_states)
            got = use(n, state) if len(n.all_input_nodes) == 1 else "combines a final state with other values"
            return self._refuse(n, n.name, got) if isinstance(got, str) else BAD if self.blocked else got
        if n.op == "call_module":
            return self._module_call(n, values)
        if self.blocked and n.target is operator.getitem and not isinstance(values[n.args[0]], torch.Tensor):
            return BAD  # element of an unmapped layer's output
        if n.target is operator.getitem and isinstance(self.refs.get(n.args[0]), tuple):
            src, index = self.refs[n.args[0]][1], n.args[1]
            got = element(next(x["type"] for x in self.nodes if x["id"] == src), src, index)
            return got if got is not None else self._refuse(
                n, n.name, f"uses element {index} of a layer's output; its block gives element 0 (and a recurrent one 1)")
        try:
            spec = map_call(n, values)
        except Unmapped as e:
            return self._refuse(n, n.name, str(e))
        if spec is PASS:
            return BAD if self.blocked else self.refs[n.args[0]]
        return self._emit(self.take(n.name), spec)

    def _refuse(self, n: fx.Node, name: str, reason: str) -> Any:
        op = describe(n) if n.op != "call_module" else f"call_module {type(self.module.get_submodule(n.target)).__name__}"
        self.ctx.refuse(self.where(name), op, reason)
        return BAD

    def _emit(self, nid: str, spec: Spec, extra: dict | None = None, refs: list | None = None) -> Any:
        if self.blocked:
            return BAD
        node = {"id": nid, "type": spec.type, **({"params": spec.params} if spec.params else {}), **(extra or {})}
        self.nodes.append(node)
        kind = REGISTRY.get(spec.type)
        ports = [p.name for p in kind.ports] if kind is not None else self.ctx.ports[spec.type]
        for port, ref in zip(ports, refs or [self.refs[src] for src in spec.inputs]):
            edge = to_edge(ref, nid)
            if len(ports) > 1:
                edge["target_port"] = port
            self.edges.append(edge)
        return nid

    def _module_call(self, n: fx.Node, values: dict[fx.Node, Any]) -> Any:
        target: str = n.target
        sub = self.module.get_submodule(target)
        if "." in target or not ID_RE.match(target):
            return self._refuse(n, target, "is called from outside its own container (or its name cannot be a node id); "
                                "call the container itself")
        inputs = list(n.args)
        if takes_state(sub) and len(inputs) == 2 and isinstance(inputs[1], (tuple, list)):
            inputs = [inputs[0], *inputs[1]]  # lstm(x, (h0, c0)): the block's ports x, h0, c0
        if takes_state(sub):  # [(ref, per-sample shape)] per port, or None
            refs = state_inputs(inputs, self.refs, values)
        else:
            refs = [(self.refs.get(a), tuple(values[a].shape[1:])) for a in inputs
                    if isinstance(a, fx.Node) and isinstance(values.get(a), torch.Tensor)]
        if not harmless_keywords(sub, dict(n.kwargs)) or refs is None or len(refs) < len(inputs):
            return self._refuse(n, target, "is called with arguments that are not tensors")
        owner = self.calls.setdefault(id(sub), [])
        # Called again: under another name it is registered by, a second attribute (`shares`,
        # as nn.Sequential(shared, ..., shared)); under the same name, the same attribute
        # called again (`calls`: no state_dict key of its own, as D2L's FixedHiddenMLP).
        alias = self._alias(sub, target) if owner else None
        nid = target if not owner else alias or self.take(target)
        shares = {} if not owner else {"shares": owner[0]} if alias else {"calls": owner[0]}
        owner.append(nid)
        block = block_for(sub)
        out = values[n]
        if block is not None:
            try:
                p = params_for(block, sub)
            except Mismatch as e:
                return self._refuse(n, target, str(e))
            ins = {port.name: In(shape, port.name) for port, (_, shape) in zip(block.ports, refs)}
            spec = Spec(block.name, {} if owner[1:] else doc_params(block, p, ins), inputs)
        elif type(sub) in MODULES:
            spec = Spec(MODULES[type(sub)], {}, inputs)
        else:
            spec = self._container(sub, target, tuple(values[a] for a in inputs))
            if spec is None:
                return BAD
            spec.inputs = inputs
        nid = self._emit(nid, spec, shares, [r for r, _ in refs] if block is not None else None)
        return ("tuple", nid) if isinstance(out, tuple) else nid

    def _alias(self, sub: nn.Module, target: str) -> str | None:
        # nn.Sequential(shared, ..., shared) registers one module under several names: use them.
        names = [target, *(k for k, m in self.module._modules.items() if m is sub and k != target)]  # named_children() dedups
        taken = {i for ids in self.calls.values() for i in ids}
        free = [k for k in names if k not in taken]
        return free[0] if free else None

    def _container(self, sub: nn.Module, target: str, args: tuple) -> Spec | None:
        """A composite block for a container; a CustomLayer for tensor code over its own parameters."""
        sub = traceable(sub)  # nn.TransformerEncoder: its layers in order, the same modules
        cls = type(sub).__name__
        own = [k for k, v in [*sub._parameters.items(), *sub._buffers.items()] if v is not None]
        if own:
            spec, why = to_custom(sub, args)
            if spec is None:
                self.ctx.refuse(self.where(target), f"call_module {cls}", f"holds tensors of its own ({', '.join(own)}) "
                                f"and cannot be a CustomLayer: {why}")
            return spec
        mark, blocks = len(self.ctx.unsupported), set(self.ctx.blocks)
        name = self._composite(sub, target, args)
        if name is not None:
            return Spec(name)
        if not sub._modules:  # plain tensor code without layers (D2L's CenteredLayer): one CustomLayer
            spec, _ = to_custom(sub, args)
            if spec is not None:
                del self.ctx.unsupported[mark:]
                for b in set(self.ctx.blocks) - blocks:
                    self.ctx.drop(b)
                return spec
        return None

    def _composite(self, sub: nn.Module, target: str, args: tuple) -> str | None:
        cls = type(sub).__name__
        inner = Scope(self.ctx, sub, self.where(target), args, root=False)
        if not inner.build():
            return None
        if isinstance(inner.output, (tuple, list)):
            self.ctx.refuse(self.where(target), f"call_module {cls}", "returns several values; a block returns one")
            return None
        if any(r is BAD for r in inner.refs.values()):
            return None
        layout(inner.nodes, inner.edges)
        ports = [x["id"] for x in inner.nodes if x["type"] == "Input"]
        return self.ctx.block_name(cls, {"nodes": inner.nodes, "edges": inner.edges}, ports)

    def _output(self, n: fx.Node) -> Any:
        result = n.args[0]
        self.output = result
        outs = list(result) if isinstance(result, (tuple, list)) else [result]
        if not self.root and len(outs) != 1:
            return None
        for i, o in enumerate(outs):
            ref = self.refs.get(o) if isinstance(o, fx.Node) else None
            if ref is BAD:
                continue
            if not isinstance(ref, (str, Tap)):
                self.ctx.refuse(self.where("output"), "output", f"returns {type(o).__name__}, not a tensor computed from the inputs")
                continue
            oid = self.take(("Y" if self.root else "y") + (f"_{i}" if len(outs) > 1 else ""))
            self.nodes.append({"id": oid, "type": "Output"})
            self.edges.append(to_edge(ref, oid))
        return None
