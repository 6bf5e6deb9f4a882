"""What a traced torch.fx graph holds: which values are tensors, which nodes are live."""

from __future__ import annotations

from typing import Any

import torch
from torch import fx


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
