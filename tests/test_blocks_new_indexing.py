"""Permute, Transpose, Select, Slice and Chunk against torch's own indexing, on random params.

Whatever torch accepts, the shape rule accepts with torch's per-sample shape (and the built
and exported models agree); whatever torch refuses gets an error on the block. Dims that
land on the batch (0) are left out, and empty results count as refused: torch takes both,
the blocks refuse them on purpose.
"""

from __future__ import annotations

import random

import pytest
import torch

from blocklab.graph.analyze import analyze
from blocklab.graph.build import source_for
from test_registry import check_block, single_block_doc


def _slice_ref(p, x):
    item = [slice(None)] * x.dim()
    item[p["dim"]] = slice(p.get("start"), p.get("end"), p.get("step", 1))
    return x[tuple(item)]


REFS = {
    "Permute": lambda p, x: x.permute(0, *p["dims"]),
    "Transpose": lambda p, x: x.transpose(p["dim0"], p["dim1"]),
    "Select": lambda p, x: x.select(p["dim"], p["index"]),
    "Slice": _slice_ref,
    "Chunk": lambda p, x: x.chunk(p["chunks"], dim=p["dim"])[p["index"]],
}


def _dim(rng: random.Random, n: int) -> int:
    """A torch dim for an n-d sample (batch at 0), sometimes out of range, never the batch itself."""
    return rng.choice([*range(1, n + 2), *range(-n, 0)])


def _cases(seed: int, n: int):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        shape = tuple(rng.randint(1, 6) for _ in range(rng.randint(2, 3)))
        k = len(shape)
        dims = rng.sample(range(1, k + 1), k)
        if rng.random() < 0.3:
            dims[0] = rng.choice([dims[-1], k + 1, -1])  # a dim twice, out of range, or negative
        out += [
            ("Permute", {"dims": dims}, shape),
            ("Transpose", {"dim0": _dim(rng, k), "dim1": _dim(rng, k)}, shape),
            ("Select", {"dim": _dim(rng, k), "index": rng.randint(-7, 6)}, shape),
            ("Slice", {"dim": _dim(rng, k), "start": rng.choice([None, *range(-7, 7)]),
                       "end": rng.choice([None, *range(-7, 8)]), "step": rng.randint(1, 3)}, shape),
            ("Chunk", {"chunks": rng.randint(1, 7), "dim": _dim(rng, k), "index": rng.randint(0, 5)}, shape),
        ]
    return out


CASES = _cases(seed=14, n=12)


def _torch_shape(type_name, params, shape):
    try:
        out = tuple(REFS[type_name](params, torch.rand(2, *shape)).shape[1:])
        return None if 0 in out else out  # an empty slice: torch takes it, the block refuses it on purpose
    except (RuntimeError, IndexError, ValueError):
        return None


def test_cases_cover_both_answers():
    for t in REFS:
        assert {_torch_shape(*c) is None for c in CASES if c[0] == t} == {True, False}, t


@pytest.mark.parametrize("type_name,params,shape", CASES)
def test_indexing_matches_torch(type_name, params, shape):
    want = _torch_shape(type_name, params, shape)
    analysis = analyze(single_block_doc(type_name, params, {"x": shape}))
    if want is None:
        assert not analysis.ok
        assert {e.to_json()["node"] for e in analysis.errors} == {"blk"}
        assert all(e.message.startswith(f"{type_name} 'blk' ") for e in analysis.errors)
    else:
        assert analysis.ok, [e.to_json() for e in analysis.errors]
        assert analysis.root.nodes["blk"].shape == want
        check_block(type_name, params, {"x": shape})


def test_batch_dim_and_last_dim_are_refused_with_the_field():
    for t, params, shape, field in [("Transpose", {"dim0": 0, "dim1": 1}, (3, 4), "dim0"),
                                    ("Select", {"dim": 1}, (4,), "dim"), ("Permute", {"dims": [0, 1]}, (3, 4), "dims")]:
        rep = analyze(single_block_doc(t, params, {"x": shape}))
        assert [(e.to_json()["node"], e.to_json()["field"]) for e in rep.errors] == [("blk", field)], t


def test_exported_source_reads_as_indexing():
    src = source_for(single_block_doc("Slice", {"dim": -2, "start": 1, "end": 3}, {"x": (5, 4)}))
    assert "blk = in_x[..., 1:3, :]  # [B, 2, 4]" in src
    src = source_for(single_block_doc("Permute", {"dims": [3, 1, 2]}, {"x": (3, 4, 5)}))
    assert "blk = in_x.permute(0, 3, 1, 2)  # [B, 5, 3, 4]" in src


# Sum/Mean validated such dims before (documents that validate stay valid): they reduce the
# dim once instead (tests/test_reduce_dims.py). A new block refuses them, as torch does.
@pytest.mark.parametrize("type_name,params", [("Permute", {"dims": [1, -2]})])
def test_a_dim_named_twice_is_refused_as_torch_refuses_it(type_name, params):
    x = torch.rand(2, 3, 4)
    with pytest.raises(RuntimeError):  # torch: "dim 1 appears multiple times in the list of dims"
        x.sum(dim=tuple(params["dims"])) if type_name != "Permute" else x.permute(0, *params["dims"])
    errs = [e.to_json() for e in analyze(single_block_doc(type_name, params, {"x": (3, 4)})).errors]
    assert [(e["node"], e["field"]) for e in errs] == [("blk", "dims")] and "twice" in errs[0]["message"], errs
