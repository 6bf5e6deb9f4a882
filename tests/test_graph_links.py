"""`shares` and `calls` chains: followed to their end, and a chain that loops or leaves the
graph is an error on the node and its link field."""

from __future__ import annotations

import pytest

from blocklab.graph.analyze import analyze
from blocklab.graph.document import GraphDoc


def _doc(link: str, a_to: str, b_to: str) -> GraphDoc:
    # a linked node leaves its params out: it takes its target's
    lin = lambda i, to: {"id": i, "type": "Linear", **({link: to} if to else {"params": {"out_features": 4}})}  # noqa: E731
    return GraphDoc.model_validate({
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [4]}}, lin("a", a_to), lin("b", b_to), lin("c", "b"),
                  {"id": "Y", "type": "Output"}],
        "edges": [{"source": "x", "target": "a"}, {"source": "a", "target": "b"}, {"source": "b", "target": "c"},
                  {"source": "c", "target": "Y"}],
    })


@pytest.mark.parametrize("link", ["shares", "calls"])
def test_a_chain_ends_at_its_root(link):
    rep = analyze(_doc(link, None, "a"))  # c -> b -> a
    assert rep.ok, [e.to_json() for e in rep.errors]
    assert getattr(rep.root.nodes["c"], link) == "a"
    assert rep.root.n_params == 20  # one Linear(4, 4)'s weights, held once


@pytest.mark.parametrize("link", ["shares", "calls"])
def test_a_looping_chain_is_named(link):
    errs = [e.to_json() for e in analyze(_doc(link, "b", "a")).errors]
    assert {(e["node"], e["field"]) for e in errs} == {("a", link), ("b", link), ("c", link)}, errs
    assert all(f"its {link} links form a loop" in e["message"] for e in errs)


@pytest.mark.parametrize("link", ["shares", "calls"])
def test_a_chain_leaving_the_graph_is_named(link):
    errs = [e.to_json() for e in analyze(_doc(link, None, "zz")).errors]
    assert {(e["node"], e["field"]) for e in errs} == {("b", link), ("c", link)}, errs
    assert all("'zz', which is not a node of this graph" in e["message"] for e in errs)
