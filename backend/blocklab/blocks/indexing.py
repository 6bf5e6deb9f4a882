"""Reordering and picking dims of each sample: Permute, Transpose, Select, Slice and Chunk.

All are functional (no module, no parameters) and keep the batch at dim 0: every dim named
in params is a torch dim with the batch at 0, so dim 0 is refused. A block has one output
(edges name no source port), so Chunk gives one chunk, picked by `index`: torch.chunk's
pieces are several Chunk blocks with the same `chunks` and different indices.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from blocklab.blocks.base import BlockType, Params, ShapeError, fmt, torch_dim

Dim = Annotated[int, Field(ge=-8, le=8)]
DIM_DOC = "torch dim, batch included (1 = first feature dim; never 0)"


class PermuteP(Params):
    dims: list[Dim] = Field(
        [2, 1], min_length=1, max_length=7,
        description="the sample's torch dims (1..n) in their new order; the batch stays at 0",
    )


def _permute(p: PermuteP, ins):
    x = ins["x"]
    n = len(x.shape) + 1
    if len(p.dims) != len(x.shape):
        raise ShapeError(
            f"has {len(p.dims)} dims but receives {fmt(x.shape)} ({len(x.shape)} dims after the batch) from '{x.src}'",
            "dims",
        )
    ds = [torch_dim(d, n, x.src, "dims") for d in p.dims]
    if len(set(ds)) != len(ds):
        raise ShapeError(f"has dims={p.dims}, which names a dim twice", "dims")
    return p, tuple(x.shape[d - 1] for d in ds)


def _permute_fwd(p: PermuteP, a, m) -> str:
    return f"{a['x']}.permute(0, {', '.join(map(str, p.dims))})"


class TransposeP(Params):
    dim0: Dim = Field(1, description=DIM_DOC)
    dim1: Dim = Field(2, description=DIM_DOC)


def _transpose(p: TransposeP, ins):
    x = ins["x"]
    n = len(x.shape) + 1
    d0, d1 = torch_dim(p.dim0, n, x.src, "dim0") - 1, torch_dim(p.dim1, n, x.src, "dim1") - 1
    out = list(x.shape)
    out[d0], out[d1] = out[d1], out[d0]
    return p, tuple(out)


class SelectP(Params):
    dim: Dim = Field(1, description=DIM_DOC)
    index: int = Field(0, ge=-1_000_000, le=1_000_000, description="position along dim; negative counts from the end")


def _select(p: SelectP, ins):
    x = ins["x"]
    d = torch_dim(p.dim, len(x.shape) + 1, x.src) - 1
    if len(x.shape) == 1:
        raise ShapeError(f"would leave no feature dim of {fmt(x.shape)} from '{x.src}'; use Slice to keep one", "dim")
    size = x.shape[d]
    if not -size <= p.index < size:
        raise ShapeError(f"has index={p.index}, out of range for size {size} of dim {p.dim} from '{x.src}'", "index")
    return p, x.shape[:d] + x.shape[d + 1:]


def _subscript(x: str, d: int, item: str) -> str:
    """`x[:, :, item]` with `item` at sample dim d (0-based after the batch): readable indexing."""
    return f"{x}[{', '.join([':'] * (d + 1) + [item])}]"


class SliceP(Params):
    dim: Dim = Field(1, description=DIM_DOC)
    start: int | None = Field(None, ge=-1_000_000, le=1_000_000, description="first position (None: 0)")
    end: int | None = Field(None, ge=-1_000_000, le=1_000_000, description="position after the last (None: the end)")
    step: int = Field(1, ge=1, le=1_000_000)


def _slice(p: SliceP, ins):
    x = ins["x"]
    d = torch_dim(p.dim, len(x.shape) + 1, x.src) - 1
    # Python's own slice rule (negative positions count from the end, out of range clips), as torch's.
    n = len(range(x.shape[d])[slice(p.start, p.end, p.step)])
    if n == 0:
        raise ShapeError(
            f"selects nothing of size {x.shape[d]} along dim {p.dim} from '{x.src}' (start={p.start}, end={p.end})", "start"
        )
    return p, x.shape[:d] + (n,) + x.shape[d + 1:]


def _slice_fwd(p: SliceP, a, m) -> str:
    # A negative dim counts from the end: x[..., 1:3] (dim -1), x[..., 1:3, :] (dim -2).
    item = ("" if p.start is None else str(p.start)) + ":" + ("" if p.end is None else str(p.end))
    item += f":{p.step}" if p.step != 1 else ""
    if p.dim < 0:
        return f"{a['x']}[{', '.join(['...', item] + [':'] * (-p.dim - 1))}]"
    return _subscript(a["x"], p.dim - 1, item)


class ChunkP(Params):
    chunks: int = Field(2, ge=1, le=1024, description="how many pieces torch.chunk cuts dim into")
    dim: Dim = Field(-1, description=DIM_DOC)
    index: int = Field(0, ge=0, le=1023, description="which piece this block outputs")


def _chunk(p: ChunkP, ins):
    x = ins["x"]
    d = torch_dim(p.dim, len(x.shape) + 1, x.src) - 1
    size = x.shape[d]
    each = -(-size // p.chunks)  # torch.chunk: pieces of ceil(size / chunks), the last smaller
    pieces = -(-size // each)
    if p.index >= pieces:
        raise ShapeError(
            f"has index={p.index}, but size {size} of dim {p.dim} from '{x.src}' cuts into {pieces} piece(s) "
            f"of {each} (chunks={p.chunks})", "index",
        )
    return p, x.shape[:d] + (min(each, size - p.index * each),) + x.shape[d + 1:]


BLOCKS = [
    BlockType("Permute", "layers", "Reorders the sample's dims: [C, H, W] with dims [2, 3, 1] -> [H, W, C].",
              _permute, PermuteP, forward=_permute_fwd, sample={"x": (3, 4)}),
    BlockType("Transpose", "layers", "Swaps two dims of each sample: [L, D] -> [D, L].", _transpose, TransposeP,
              forward=lambda p, a, m: f"{a['x']}.transpose({p.dim0}, {p.dim1})", sample={"x": (3, 4)}),
    BlockType("Select", "layers", "Picks one position along dim and drops that dim: x[:, index] gives [L, D] -> [D].",
              _select, SelectP, forward=lambda p, a, m: f"{a['x']}.select({p.dim}, {p.index})", sample={"x": (3, 4)}),
    BlockType("Slice", "layers", "Keeps positions start:end:step along dim: x[:, 1:3] gives [L, D] -> [2, D].",
              _slice, SliceP, forward=_slice_fwd, sample={"x": (5, 4)}),
    BlockType("Chunk", "layers", "One of torch.chunk's equal pieces along dim: chunks=2, index=1 gives the second half.",
              _chunk, ChunkP, forward=lambda p, a, m: f"{a['x']}.chunk({p.chunks}, dim={p.dim})[{p.index}]",
              sample={"x": (3, 6)}),
]
