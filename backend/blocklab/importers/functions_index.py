"""Reordering and indexing calls seen by torch.fx -> Permute, Transpose, Select, Slice and
Chunk blocks (importers.functions merges these handlers into its table).

Every dim is a torch dim with the batch at 0, as in the blocks' params; a call that moves
or picks along the batch is Unmapped (no block does that per sample). The block's own shape
rule then checks the params against the incoming shape when the design is validated.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import torch
from torch import fx

from blocklab.importers.functions import PASS, Call, Spec, Unmapped
from blocklab.importers.torch_args import takes_state


def _rank(c: Call, x: fx.Node) -> int:
    return c.values[x].dim()  # batch included


def _dim(c: Call, x: fx.Node, d: Any, what: str = "dim") -> int:
    if not isinstance(d, int) or isinstance(d, bool):
        raise Unmapped(f"its {what} is not a constant int")
    if d % _rank(c, x) == 0:
        raise Unmapped(f"works along the batch ({what}={d}); a block keeps the batch at dim 0")
    return d


def _ints(c: Call, start: int, name: str) -> list[Any]:
    """x.permute(0, 2, 1) and x.permute((0, 2, 1)) alike."""
    v = c.const(start, name)
    return list(v) if isinstance(v, (tuple, list)) else [v, *(c.const(i, f"#{i}") for i in range(start + 1, len(c.args)))]


def _permute(c: Call) -> Spec:
    x = c.tensor(c.args[0])
    dims = [d % _rank(c, x) for d in _ints(c, 1, "dims")]
    if not dims or dims[0] != 0:
        raise Unmapped(f"permutes dims {dims}, moving the batch; a Permute block keeps it at dim 0")
    return Spec("Permute", {"dims": dims[1:]}, [x])


def _feeds_state(node: fx.Node) -> bool:
    """Whether every use of `node` (through .contiguous()) is an RNN's initial state argument."""
    root = node.graph.owning_module
    for u in node.users:
        if u.op == "call_method" and u.target == "contiguous":
            if not _feeds_state(u):
                return False
        elif u.op != "call_module" or not takes_state(root.get_submodule(u.target)) or not any(
                a is node or isinstance(a, (tuple, list)) and node in a for a in u.args[1:]):
            return False
    return bool(node.users)


def _transpose(c: Call) -> Spec | object:
    c.only(set(), 3)
    x = c.tensor(c.args[0])
    swap = {c.const(1, "dim0") % _rank(c, x), c.const(2, "dim1") % _rank(c, x)}
    if swap == {0, 1} and _feeds_state(c.node):
        return PASS  # the RNN block's h0 port takes the state batch-first: the untransposed value
    d0, d1 = (_dim(c, x, c.const(i, n), n) for i, n in ((1, "dim0"), (2, "dim1")))
    return Spec("Transpose", {"dim0": d0, "dim1": d1}, [x])


def _select(c: Call) -> Spec:
    x = c.tensor(c.args[0])
    return Spec("Select", {"dim": _dim(c, x, c.const(1, "dim")), "index": int(c.const(2, "index"))}, [x])


def _is_chunk(n: Any) -> bool:
    return isinstance(n, fx.Node) and (n.target == "chunk" and n.op == "call_method" or n.target is torch.chunk)


def _chunk(c: Call) -> object:
    # x.chunk(2, dim=-1) gives a tuple: each `[i]` of it becomes one Chunk block (see _getitem).
    if not all(u.target is operator.getitem for u in c.node.users):
        raise Unmapped("uses torch.chunk's pieces together; a Chunk block gives one piece, picked by [index]")
    c.tensor(c.args[0])
    return PASS


def _piece(c: Call, chunk: fx.Node, index: Any) -> Spec:
    inner = Call(chunk, c.values)
    x = inner.tensor(inner.args[0])
    return Spec("Chunk", {"chunks": int(inner.const(1, "chunks")), "dim": _dim(c, x, inner.const(2, "dim", 0)),
                          "index": int(index)}, [x])


def _getitem(c: Call) -> Spec:
    """x[:, 1:3], x[:, -1], x[..., 2:], and chunk(...)[i]."""
    src, item = c.args
    if _is_chunk(src):
        return _piece(c, src, item)
    x = c.tensor(src)
    items = list(item) if isinstance(item, tuple) else [item]
    rank = _rank(c, x)
    if items and items[0] is Ellipsis:  # x[..., a:b, :] names a dim from the end
        rest = items[1:]
        if not rest or any(i != slice(None) for i in rest[1:]):
            raise Unmapped("indexes more than one dim; a block picks along one")
        dim, one = -len(rest), rest[0]
    else:
        picked = [k for k, i in enumerate(items) if i != slice(None)]
        if not picked and len(items) > 1:  # x[:, :]: the whole of the last dim written, as a Slice writes it
            picked = [len(items) - 1]
        if len(picked) != 1 or picked[0] == 0 or Ellipsis in items or None in items:
            raise Unmapped("indexes the batch, several dims or with None; a block picks along one feature dim")
        dim, one = picked[0], items[picked[0]]
    if dim % rank == 0:
        raise Unmapped("indexes the batch")
    if isinstance(one, int) and not isinstance(one, bool):
        return Spec("Select", {"dim": dim, "index": one}, [x])
    if isinstance(one, slice) and all(v is None or isinstance(v, int) for v in (one.start, one.stop, one.step)):
        return Spec("Slice", {"dim": dim, "start": one.start, "end": one.stop, "step": one.step or 1}, [x])
    raise Unmapped("indexes with a tensor or a computed position; a block takes constant positions")


def _to_indices(c: Call) -> object:
    # Embedding(x.long()) on an Input: the block takes the Input's indices itself.
    x = c.tensor(c.args[0])
    if x.op != "placeholder" or not all(u.op == "call_module" for u in c.node.users):
        raise Unmapped("converts to integers other than an Input's indices fed to a layer")
    return PASS


HANDLERS: dict[Any, Callable[[Call], Any]] = {
    "permute": _permute, torch.permute: _permute,
    "transpose": _transpose, torch.transpose: _transpose,
    "select": _select, torch.select: _select,
    "chunk": _chunk, torch.chunk: _chunk,
    operator.getitem: _getitem,
    "long": _to_indices, "int": _to_indices,
}
