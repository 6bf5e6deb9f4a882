"""Indexing in CustomLayer code (issue 14): torch is the reference for every accepted form,
and each refused one names the problem at its column."""

import pytest
import torch

from blocklab.graph.analyze import analyze
from blocklab.graph.build import build
from blocklab.graph.codegen import generate
from blocklab.graph.document import GraphDoc
from graphs import load_exported


def _doc(expr: str, shape=(3, 5)) -> GraphDoc:
    return GraphDoc.model_validate({"version": 1, "nodes": [
        {"id": "X", "type": "Input", "params": {"shape": list(shape)}},
        {"id": "c", "type": "CustomLayer", "params": {"expr": expr}}, {"id": "Y", "type": "Output"}],
        "edges": [{"source": "X", "target": "c"}, {"source": "c", "target": "Y"}]})


@pytest.mark.parametrize("expr", [
    "x[:, 0]", "x[..., :2]", "x[:, None]", "x[:, 1:, ::2]", "x[..., -1]", "x[:, -2:, 1:4:2]",
    "x[:, 0] * 2 + x[:, 1]", "h = x[:, :, :1]\nh.sum(dim=2)", "softmax(x, dim=-1)[..., 0]", "x[:, ...]",
])
def test_indexing_matches_torch(expr):
    doc = _doc(expr)
    analysis = analyze(doc)
    assert analysis.ok, analysis.errors
    x = torch.randn(4, 3, 5)
    want = eval(expr.split("\n")[-1], {"x": x, "softmax": torch.softmax, "h": x[:, :, :1]})
    got = build(doc)(x)
    assert tuple(got.shape[1:]) == analysis.root.nodes["c"].shape
    torch.testing.assert_close(got, want)
    exported = load_exported(generate(analysis))()  # the exported forward indexes the same way
    torch.testing.assert_close(exported(x), want)


@pytest.mark.parametrize("expr, says", [
    ("x[0]", "batch dimension"), ("x[None]", "batch dimension"), ("x[..., 0, 0, 0]", "batch dimension"),
    ("x[:, 5]", "out of bounds"), ("x[:, ::-1]", "step must be greater than zero"),
    ("x[:, x]", "a tensor as an index"), ("x[:, 1.5]", "literal integer"), ("x[..., :, ...]", "one '...'"),
    ("(1)[0]", "not a number"),
])
def test_bad_indexing_is_named(expr, says):
    analysis = analyze(_doc(expr))
    assert not analysis.ok
    err = analysis.errors[0].to_json()
    assert err["node"] == "c" and err["field"] == "expr" and says in err["message"], err
    assert "column" in err["message"]
