"""Training memory, estimated from the analysed shapes alone (nothing is allocated).

weights + gradients + optimizer state (Adam: 2 tensors per parameter, SGD with momentum: 1)
+ every node's output for one batch (autograd keeps them for the backward pass), float32.
A rough upper bound is the point: it refuses a design that could never fit before a run
tries to allocate it.
"""

from __future__ import annotations

import math

from blocklab.graph.analyze import Scope

FLOAT_BYTES = 4


def activation_values(scope: Scope) -> int:
    """Values per sample held by every node's output, nested blocks expanded."""
    total = 0
    for n in scope.nodes.values():
        if n.scope is not None:
            total += activation_values(n.scope)
        elif n.role is None and n.shape is not None:
            total += math.prod(n.shape)
    return total


def training_bytes(root: Scope, batch_size: int, optimizer_states: int) -> int:
    params = root.n_params * (2 + optimizer_states)
    return FLOAT_BYTES * (params + batch_size * activation_values(root))


def fmt_bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} bytes"
