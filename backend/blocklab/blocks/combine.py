"""Blocks that combine or reduce tensors: element-wise sums and products, concatenation,
matrix products, reductions and scaling. All are functional: no module, no parameters."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from blocklab.blocks.base import BlockType, In, NoParams, Params, Port, ShapeError, fmt, torch_dim


def _connected(ins: dict[str, In]) -> list[tuple[str, In]]:
    return [(k, v) for k, v in ins.items() if v is not None]


def _elementwise(op: str):
    def infer(p, ins):
        (ka, a), (kb, b) = _connected(ins)
        # Same rank keeps the batch dims aligned; sizes broadcast where one side is 1.
        if len(a.shape) != len(b.shape) or any(x != y and 1 not in (x, y) for x, y in zip(a.shape, b.shape)):
            raise ShapeError(
                f"cannot {op} {fmt(a.shape)} from '{a.src}' and {fmt(b.shape)} from '{b.src}': "
                "shapes must match (or be 1 where they differ)", kb,
            )
        return p, tuple(max(x, y) for x, y in zip(a.shape, b.shape))

    return infer


class ConcatP(Params):
    dim: int = Field(1, ge=-8, le=8, description="torch dim, batch included (1 = first feature dim)")


def _concat(p: ConcatP, ins):
    parts = _connected(ins)
    first = parts[0][1]
    d = torch_dim(p.dim, len(first.shape) + 1, first.src) - 1
    total = 0
    for port, x in parts:
        if len(x.shape) != len(first.shape) or any(
            i != d and s != t for i, (s, t) in enumerate(zip(x.shape, first.shape))
        ):
            raise ShapeError(
                f"cannot concatenate {fmt(x.shape)} from '{x.src}' with {fmt(first.shape)} from '{first.src}' "
                f"along dim {p.dim}: every other dim must match", port,
            )
        total += x.shape[d]
    out = list(first.shape)
    out[d] = total
    return p, tuple(out)


def _matmul(p, ins):
    a, b = ins["a"], ins["b"]
    for port, x in (("a", a), ("b", b)):
        if len(x.shape) < 2:
            raise ShapeError(
                f"multiplies matrices per sample, but port '{port}' receives {fmt(x.shape)} from '{x.src}'; "
                "reshape it to [rows, cols] first", port,
            )
    if a.shape[-1] != b.shape[-2]:
        raise ShapeError(
            f"cannot multiply {fmt(a.shape)} from '{a.src}' by {fmt(b.shape)} from '{b.src}': "
            f"{a.shape[-1]} columns against {b.shape[-2]} rows", "b",
        )
    ba, bb = a.shape[:-2], b.shape[:-2]
    if len(ba) != len(bb) or any(x != y and 1 not in (x, y) for x, y in zip(ba, bb)):
        raise ShapeError(f"cannot broadcast the leading dims of {fmt(a.shape)} and {fmt(b.shape)}", "b")
    return p, tuple(max(x, y) for x, y in zip(ba, bb)) + (a.shape[-2], b.shape[-1])


class ReduceP(Params):
    dims: list[Annotated[int, Field(ge=-8, le=8)]] = Field(
        [-1], min_length=1, max_length=6, description="torch dims to reduce, batch included (never 0)"
    )
    keepdim: bool = False


def _reduce(p: ReduceP, ins):
    x = ins["x"]
    named = [torch_dim(d, len(x.shape) + 1, x.src, "dims") - 1 for d in p.dims]
    if len(set(named)) != len(named):  # torch refuses dim=(1, 1) and (1, -1) on [B, n]
        raise ShapeError(f"has dims={p.dims}, which names a dim twice", "dims")
    ds = sorted(named)
    if p.keepdim:
        return p, tuple(1 if i in ds else s for i, s in enumerate(x.shape))
    out = tuple(s for i, s in enumerate(x.shape) if i not in ds)
    if not out:
        raise ShapeError("reduces every feature dim; set keepdim or keep at least one dim", "dims")
    return p, out


def _reduce_fwd(method: str):
    return lambda p, a, m: f"{a['x']}.{method}(dim={tuple(p.dims)!r}, keepdim={p.keepdim})"


class ScaleP(Params):
    factor: float = Field(1.0, ge=-1e6, le=1e6, description="constant multiplier")


def _same(p, ins):
    return p, ins["x"].shape


AB = (Port("a"), Port("b"))

BLOCKS = [
    BlockType("Identity", "combine", "Passes its input through unchanged.", _same, NoParams,
              forward=lambda p, a, m: a["x"]),
    BlockType("Add", "combine", "a + b, element-wise: residual connections.", _elementwise("add"), NoParams,
              ports=AB, forward=lambda p, a, m: f"{a['a']} + {a['b']}", sample={"a": (4, 6), "b": (1, 6)}),
    BlockType("Multiply", "combine", "a * b, element-wise: gating.", _elementwise("multiply"), NoParams,
              ports=AB, forward=lambda p, a, m: f"{a['a']} * {a['b']}", sample={"a": (4, 6), "b": (4, 6)}),
    BlockType(
        "Concat", "combine", "Joins 2 to 4 inputs along dim: [a, b] -> [a + b].", _concat, ConcatP,
        ports=(*AB, Port("c", optional=True), Port("d", optional=True)),
        forward=lambda p, a, m: f"torch.cat([{', '.join(a.values())}], dim={p.dim})",
        sample={"a": (4, 6), "b": (2, 6), "c": (3, 6)},
    ),
    BlockType("MatMul", "combine", "a @ b per sample: [n, m] @ [m, p] -> [n, p].", _matmul, NoParams,
              ports=AB, forward=lambda p, a, m: f"{a['a']} @ {a['b']}", sample={"a": (4, 5), "b": (5, 3)}),
    BlockType("Sum", "combine", "Sums over dims.", _reduce, ReduceP, forward=_reduce_fwd("sum"), sample={"x": (4, 6)}),
    BlockType("Mean", "combine", "Averages over dims.", _reduce, ReduceP, forward=_reduce_fwd("mean"), sample={"x": (4, 6)}),
    BlockType("Scale", "combine", "x * factor, a fixed constant.", _same, ScaleP,
              forward=lambda p, a, m: f"{a['x']} * {p.factor!r}"),
]
