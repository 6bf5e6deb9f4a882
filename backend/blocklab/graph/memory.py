"""Memory, estimated from the analysed shapes alone (nothing is allocated), float32:

    stored     parameters, buffers and constants, held once per module
    training   + a gradient and the optimizer's state (Adam: 2, SGD with momentum: 1) per parameter
               + the statistics' copies (train/snapshot.py): the weights before a step, and a
                 shadow model (parameters and buffers) that the snapshot is computed from
    per batch  every node's output for the batch (autograd keeps them for the backward pass)
               + the intermediates of CustomLayer expressions, traced on the meta device at
                 that batch size, a while loop's body counted max_iter times

A rough upper bound is the point: it refuses a design that could never fit before anything
tries to allocate it. `analyze` holds every design to it at a batch of 1 (validate, export,
runs, predict); a run's plan holds it at the run's batch size (`training_bytes`,
`training_error`), and predict at its number of inputs (`inference_error`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from blocklab.blocks.base import BlockType
from blocklab.graph.types import Error, Limits, PNode, Scope

FLOAT_BYTES = 4
STATS_COPIES = 2  # values per parameter (and 1 per buffer) that statistics snapshots hold while training
NAMED = 5  # nodes an error names, largest first


@dataclass
class Part:
    """One node's share of the estimate, in values."""

    path: tuple[str, ...]  # instance ids down to the node
    block: str | None
    params: int  # held, each with a gradient and optimizer state
    buffers: int  # held (constants)
    batch: int  # output and intermediates at the batch size

    def total(self, optimizer_states: int) -> int:
        """Values to train it (-1 states: a forward only, the parameters without gradients)."""
        if optimizer_states < 0:
            return self.params + self.buffers + self.batch
        return self.params * (2 + STATS_COPIES + optimizer_states) + 2 * self.buffers + self.batch


def buffer_values(kind: BlockType, params: Any) -> int:
    return sum(math.prod(s) for s in kind.buffer_shapes(params).values())


def parts(root: Scope, batch_size: int) -> Iterator[Part]:
    """Every node of the expanded design (at most BLOCKLAB_MAX_NODES), with its share."""
    for scope, n, prefix, held in _walk(root):
        yield Part((*prefix, n.id), scope.block, n.n_params if held else 0, n.n_buffers if held else 0,
                   _batch_values(scope, n, batch_size))


def training_bytes(root: Scope, batch_size: int, optimizer_states: int) -> int:
    """Bytes to train `root` at this batch size: the estimate a run (and its worker) is held to."""
    held = root.n_params * (2 + STATS_COPIES + optimizer_states) + 2 * root.n_buffers
    return FLOAT_BYTES * (held + _per_batch(root, batch_size))


def inference_bytes(root: Scope, batch_size: int) -> int:
    """Bytes for one forward at this batch size (predict); an upper bound, as if for training."""
    return FLOAT_BYTES * (root.n_params + root.n_buffers + _per_batch(root, batch_size))


def training_error(root: Scope, batch_size: int, optimizer_states: int, limit: int,
                   field: str | None = "batch_size") -> Error | None:
    """None when training fits in `limit` bytes, else an error naming the largest nodes."""
    need = training_bytes(root, batch_size, optimizer_states)
    return None if need <= limit else _too_big(root, batch_size, need, limit, "training this design", field,
                                               lambda p: p.total(optimizer_states))


def inference_error(root: Scope, batch_size: int, limit: int, field: str | None = "inputs") -> Error | None:
    """None when a forward at this batch size fits in `limit` bytes, else an error naming nodes."""
    need = inference_bytes(root, batch_size)
    return None if need <= limit else _too_big(root, batch_size, need, limit, "running this design", field,
                                               lambda p: p.total(-1))


def limit_errors(root: Scope, limits: Limits) -> list[Error]:
    """The size limits every design is held to, whatever it is used for."""
    errors = []
    held = root.n_params + root.n_buffers
    if held > limits.max_params:
        top = _largest(root, 1, lambda p: p.params + p.buffers)
        what = (f"{held:,} parameters" if not root.n_buffers else
                f"{held:,} values ({root.n_params:,} in parameters, {root.n_buffers:,} in constants)")
        errors.append(Error(top[0][0].path[:1] if top else (), None,
                            f"the design holds {what}; the limit is {limits.max_params:,} (BLOCKLAB_MAX_PARAMS). "
                            f"The largest: " + _names(top, lambda v: f"{v:,}")))
    e = training_error(root, 1, 0, limits.max_train_bytes, None)
    if e is not None:
        errors.append(e)
    return errors


def fmt_bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def _walk(root: Scope) -> Iterator[tuple[Scope, PNode, tuple[str, ...], bool]]:
    """(scope, node, instance ids above it, whether it holds its own tensors), blocks expanded."""
    stack: list[tuple[Scope, tuple[str, ...], bool]] = [(root, (), False)]
    while stack:
        scope, prefix, tied = stack.pop()
        for n in scope.nodes.values():
            held = not (tied or n.shares or n.calls)  # a tied module's tensors belong to the node it shares
            if n.scope is not None:
                stack.extend((inner, (*prefix, n.id, *sub), not held) for sub, inner in n.parts())
            elif n.present:
                yield scope, n, prefix, held


def _batch_values(scope: Scope, n: PNode, batch_size: int) -> int:
    if n.role is not None or n.shape is None:
        return 0
    # a block with several outputs keeps them all (an LSTM's sequence and final states)
    out = batch_size * sum(map(math.prod, n.out_shapes.values() if n.out_shapes else [n.shape]))
    if n.kind.workspace is None:
        return out
    ins = {port: n.fed(port, scope.nodes) for port in n.inputs}
    return out + n.kind.workspace(n.params, ins, batch_size)


def _per_batch(root: Scope, batch_size: int) -> int:
    """Outputs and intermediates of every node; a block's scope is summed once, however
    many instances use it."""
    memo: dict[int, int] = {}

    def visit(scope: Scope) -> int:
        if id(scope) not in memo:
            memo[id(scope)] = sum(sum(visit(s) for _, s in n.parts()) if n.scope is not None
                                  else _batch_values(scope, n, batch_size) if n.present else 0
                                  for n in scope.nodes.values())
        return memo[id(scope)]

    return visit(root)


def _too_big(root: Scope, batch_size: int, need: int, limit: int, doing: str, field: str | None, size) -> Error:
    top = _largest(root, batch_size, size)
    return Error(top[0][0].path[:1] if top else (), field,
                 f"{doing} at batch size {batch_size:,} needs about {fmt_bytes(need)}; the limit is {fmt_bytes(limit)} "
                 f"(BLOCKLAB_MAX_TRAIN_BYTES). The largest: " + _names(top, lambda v: fmt_bytes(FLOAT_BYTES * v)))


def _largest(root: Scope, batch_size: int, size) -> list[tuple[Part, int]]:
    found = ((p, size(p)) for p in parts(root, batch_size))
    return [t for t in heapq.nlargest(NAMED + 1, found, key=lambda t: t[1]) if t[1] > 0]


def _names(top: list[tuple[Part, int]], show) -> str:
    text = ", ".join(f"'{'.'.join(p.path)}' {show(v)}" for p, v in top[:NAMED])
    return text + (", …" if len(top) > NAMED else "")
