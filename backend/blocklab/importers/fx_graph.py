"""Tracing a module with torch.fx and what its graph holds: which values are tensors, which nodes are live."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import fx, nn

from blocklab.importers.layers import block_for


def tensors_in(v: Any) -> bool:
    return any(isinstance(x, torch.Tensor) for x in torch.utils._pytree.tree_leaves(v))


def live(graph: fx.Graph) -> set[fx.Node]:
    """Nodes the output depends on; the rest (an unused `_` of `out, _ = lstm(x)`) is dropped."""
    out = next(n for n in reversed(graph.nodes) if n.op == "output")
    live, stack = set(), [out]
    while stack:
        n = stack.pop()
        if n not in live:
            live.add(n)
            stack.extend(n.all_input_nodes)
    return live | {n for n in graph.nodes if n.op == "placeholder"}


class Tracer(fx.Tracer):
    """Direct children are leaves (each one node); deeper calls are leaves only for registry layers."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return "." not in qualname or block_for(m) is not None or super().is_leaf_module(m, qualname)


class Recorder(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule):
        super().__init__(gm, garbage_collect_values=False)
        self.values: dict[fx.Node, Any] = {}

    def run_node(self, n: fx.Node) -> Any:
        self.values[n] = super().run_node(n)
        return self.values[n]


@contextmanager
def mode(module: nn.Module, training: bool) -> Iterator[None]:
    before = {m: m.training for m in module.modules()}
    module.train(training)
    try:
        yield
    finally:
        for m, t in before.items():
            m.training = t
