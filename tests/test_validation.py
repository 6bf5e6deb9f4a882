"""A bad graph for every validation rule: each error names its node (and field), all at once."""

from __future__ import annotations

import time

import pytest

from graphs import chain, template


def validate(client, doc) -> dict:
    r = client.post("/api/graphs/validate", json=doc)
    assert r.status_code == 200, r.text
    return r.json()


def errors_of(report, node=None) -> list[dict]:
    return [e for e in report["errors"] if node is None or e["node"] == node]


def test_valid_graph_reports_shapes_and_params(client):
    rep = validate(client, template("d2l_mlp"))
    assert rep["ok"] and rep["errors"] == []
    assert rep["nodes"]["hidden"]["output_shape"] == [256]
    assert rep["nodes"]["hidden"]["params"] == 20 * 256 + 256
    assert rep["nodes"]["out"]["output_shape"] == [10]
    assert rep["total_params"] == 20 * 256 + 256 + 256 * 10 + 10


def test_shape_mismatch_names_node_field_and_source(client):
    doc = chain([20], ("hidden", "Linear", {"out_features": 128}), ("act", "ReLU"),
                ("out", "Linear", {"in_features": 256, "out_features": 10}))
    rep = validate(client, doc)
    assert not rep["ok"]
    assert rep["errors"] == [{"node": "out", "field": "in_features",
                              "message": "Linear 'out' expects 256 input features but receives 128 from 'act'"}]


def test_all_errors_are_collected_at_once(client):
    doc = chain([20], ("a", "Linear", {"out_features": -3}), ("b", "Relu"), ("c", "Linear", {"out_feature": 4}))
    doc["nodes"].append({"id": "c", "type": "ReLU"})
    rep = validate(client, doc)
    nodes = {(e["node"], e["field"]) for e in rep["errors"]}
    assert ("a", "out_features") in nodes
    assert ("b", "type") in nodes and "did you mean 'ReLU'" in errors_of(rep, "b")[0]["message"]
    assert ("c", "id") in nodes
    assert ("c", "out_feature") in nodes


@pytest.mark.parametrize("bad_id,fragment", [("a b", "malformed id"), ("x.y", "malformed id"), ("forward", "reserved"),
                                             ("training", "reserved")])
def test_bad_ids(client, bad_id, fragment):
    doc = chain([4], (bad_id, "ReLU"))
    rep = validate(client, doc)
    assert any(e["node"] == bad_id and e["field"] == "id" and fragment in e["message"] for e in rep["errors"])


def test_edge_to_missing_node(client):
    doc = chain([4], ("r", "ReLU"))
    doc["edges"].append({"source": "r", "target": "ghost"})
    rep = validate(client, doc)
    assert errors_of(rep, "r")[0]["message"] == "an edge from 'r' to 'ghost' refers to a missing node 'ghost'"


def test_cycle(client):
    doc = chain([4], ("a", "Linear", {"out_features": 4}), ("b", "Linear", {"out_features": 4}))
    doc["nodes"].insert(2, {"id": "add", "type": "Add"})
    doc["edges"] = [{"source": "X", "target": "add", "target_port": "a"}, {"source": "b", "target": "add", "target_port": "b"},
                    {"source": "add", "target": "a"}, {"source": "a", "target": "b"}, {"source": "b", "target": "Y"}]
    rep = validate(client, doc)
    cyc = {e["node"] for e in rep["errors"] if "cycle" in e["message"]}
    assert cyc == {"a", "b", "add"}


def test_missing_input_and_output(client):
    rep = validate(client, {"nodes": [{"id": "r", "type": "ReLU"}], "edges": []})
    msgs = [e["message"] for e in rep["errors"]]
    assert "the design has no Input node" in msgs and "the design has no Output node" in msgs


def test_unconnected_port_and_double_edge(client):
    doc = chain([4], ("add", "Add"))
    rep = validate(client, doc)  # X feeds port a; b is empty
    assert any(e["node"] == "add" and e["field"] == "b" for e in rep["errors"])
    doc["edges"].append({"source": "X", "target": "add", "target_port": "a"})
    rep = validate(client, doc)
    assert any(e["node"] == "add" and e["field"] == "a" and "two edges" in e["message"] for e in rep["errors"])


def test_unknown_port_and_edge_into_input(client):
    doc = chain([4], ("r", "ReLU"))
    doc["edges"][0]["target_port"] = "q"
    doc["edges"].append({"source": "r", "target": "X"})
    rep = validate(client, doc)
    assert any(e["node"] == "r" and e["field"] == "q" for e in rep["errors"])
    assert any(e["node"] == "X" and "takes no inputs" in e["message"] for e in rep["errors"])


def test_unused_output_is_a_warning_only(client):
    doc = chain([4], ("a", "Linear", {"out_features": 2}))
    doc["nodes"].append({"id": "dangling", "type": "ReLU"})
    doc["edges"].append({"source": "a", "target": "dangling"})
    rep = validate(client, doc)
    assert rep["ok"]
    assert errors_of(rep, "dangling")[0]["severity"] == "warning"


def test_bad_params(client):
    rep = validate(client, chain([4], ("d", "Dropout", {"p": 1.5}), ("c", "Concat", {"dim": "x"})))
    assert any(e["node"] == "d" and e["field"] == "p" for e in rep["errors"])


def test_conv_kernel_too_big_and_wrong_rank(client):
    rep = validate(client, chain([1, 3, 3], ("conv", "Conv2d", {"kernel_size": 5})))
    assert errors_of(rep, "conv")[0]["field"] == "kernel_size"
    rep = validate(client, chain([10], ("conv", "Conv2d")))
    assert "expects [channels, height, width] but receives [10] from 'X'" in errors_of(rep, "conv")[0]["message"]


def test_recursive_blocks(client):
    doc = chain([4], ("a", "A"))
    inner = lambda t: {"nodes": [{"id": "x", "type": "Input"}, {"id": "m", "type": t}, {"id": "y", "type": "Output"}],
                       "edges": [{"source": "x", "target": "m"}, {"source": "m", "target": "y"}]}
    doc["blocks"] = {"A": inner("B"), "B": inner("A")}
    rep = validate(client, doc)
    assert not rep["ok"]
    assert any("cannot be recursive" in e["message"] and "A → B → A" in e["message"] for e in rep["errors"])


def test_errors_inside_blocks_point_at_the_instance(client):
    doc = template("resnet_digits")
    doc["blocks"]["Residual"]["nodes"][4]["params"]["out_channels"] = 8  # the skip connection no longer matches
    rep = validate(client, doc)
    errs = [e for e in rep["errors"] if e.get("block") == "Residual"]
    assert {e["node"] for e in errs} >= {"res1"}
    assert any(e["path"] == "res1.add" for e in errs)


@pytest.mark.parametrize("case", ["missing", "type", "shape"])
def test_shares_errors(client, case):
    doc = template("d2l_tied")
    target = {"missing": "nope", "type": "1", "shape": "0"}[case]
    doc["nodes"][5]["shares"] = target  # node "4"
    rep = validate(client, doc)
    errs = [e for e in errors_of(rep, "4") if e["field"] == "shares"]
    assert errs, rep["errors"]
    assert {"missing": "not a node", "type": "types differ", "shape": "in_features=8 here but 4"}[case] in errs[0]["message"]


def test_init_errors(client):
    doc = template("d2l_mlp")
    doc["nodes"][1]["init"] = {"weight": {"fn": "gaussian"}, "bais": {"fn": "zeros"}}
    doc["nodes"][3]["init"] = {"bias": {"fn": "xavier_uniform"}, "weight": {"fn": "normal", "std": -1}}
    rep = validate(client, doc)
    fields = {(e["node"], e["field"]) for e in rep["errors"]}
    assert fields == {("hidden", "init.weight"), ("hidden", "init.bais"), ("out", "init.bias"), ("out", "init.weight.std")}


def test_node_limit_refused_fast(client):
    n = 5001
    doc = {"nodes": [{"id": f"n{i}", "type": "ReLU"} for i in range(n)], "edges": []}
    t = time.perf_counter()
    rep = validate(client, doc)
    assert time.perf_counter() - t < 5  # generous: the point is that nothing is built
    assert not rep["ok"] and "5,001 nodes; the limit is 5,000" in rep["errors"][0]["message"]


def test_param_limit_refused_before_allocation(client, monkeypatch):
    import torch

    def no_modules(*a, **k):
        raise AssertionError("a module was built during validation")

    monkeypatch.setattr(torch.nn.Module, "__init__", no_modules)  # any layer construction would fail
    doc = chain([1_000_000], ("huge", "Linear", {"out_features": 1_000_000}))
    rep = validate(client, doc)  # 1e12 parameters: allocating them would need 4 TB
    assert not rep["ok"] and "limit is 100,000,000" in rep["errors"][0]["message"]


def test_block_expansion_bomb_refused(client):
    # Ten levels of 10 instances each: 10^10 nodes if expanded.
    blocks = {"L0": {"nodes": [{"id": "x", "type": "Input"}, {"id": "r", "type": "ReLU"}, {"id": "y", "type": "Output"}],
                     "edges": [{"source": "x", "target": "r"}, {"source": "r", "target": "y"}]}}
    for lvl in range(1, 10):
        ids = [f"i{k}" for k in range(10)]
        nodes = [{"id": "x", "type": "Input"}] + [{"id": i, "type": f"L{lvl - 1}"} for i in ids] + [{"id": "y", "type": "Output"}]
        order = ["x", *ids, "y"]
        blocks[f"L{lvl}"] = {"nodes": nodes, "edges": [{"source": a, "target": b} for a, b in zip(order, order[1:])]}
    doc = chain([4], ("top", "L9"))
    doc["blocks"] = blocks
    rep = validate(client, doc)
    assert not rep["ok"] and "expands to" in rep["errors"][0]["message"]


def test_chain_of_1000_nodes_validates(client):
    layers = [(f"l{i}", "Linear", {"out_features": 8}) if i % 2 == 0 else (f"l{i}", "ReLU") for i in range(1000)]
    rep = validate(client, chain([8], *layers))
    assert rep["ok"] and rep["nodes"]["l998"]["output_shape"] == [8]


def test_embedding_needs_indices_from_an_input(client):
    rep = validate(client, chain([5], ("lin", "Linear", {"out_features": 5}), ("emb", "Embedding", {"num_embeddings": 10})))
    assert errors_of(rep, "emb")[0]["message"].endswith("it must be fed by an Input; 'lin' produces real numbers")
    assert validate(client, chain([5], ("emb", "Embedding", {"num_embeddings": 10})))["ok"]
