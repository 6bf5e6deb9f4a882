"""Block args, `when`, `repeat` and `calls` on hostile or wrong input: each a clear error
naming the node and the field, found before anything is allocated, never a 500 or a hang."""

from __future__ import annotations

import time

import pytest

from blocklab.graph.analyze import Limits, analyze
from blocklab.graph.document import GraphDoc


def block(args: dict, *inner: dict, edges=None) -> dict:
    nodes = [{"id": "x", "type": "Input"}, *inner, {"id": "y", "type": "Output"}]
    return {"args": args, "nodes": nodes,
            "edges": edges or [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:])]}


def design(*top: dict, blocks: dict, shape=(8,)) -> dict:
    nodes = [{"id": "X", "type": "Input", "params": {"shape": list(shape)}}, *top, {"id": "Y", "type": "Output"}]
    return {"version": 1, "nodes": nodes, "blocks": blocks,
            "edges": [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:])]}


WIDTH = {"width": {"type": "integer", "default": 4, "minimum": 1}}
MLP = block(WIDTH, {"id": "fc", "type": "Linear", "params": {"out_features": {"expr": "width * 2"}}})


def errors(doc: dict, limits: Limits = Limits()) -> list[dict]:
    return [e.to_json() for e in analyze(GraphDoc.model_validate(doc), limits).errors if e.severity != "warning"]


def where(doc: dict, limits: Limits = Limits()) -> list[tuple]:
    return [(e["node"], e["field"], e.get("path")) for e in errors(doc, limits)]


def test_args_reach_inner_params_and_defaults_fill_in():
    a = analyze(GraphDoc.model_validate(design({"id": "b", "type": "MLP", "params": {"width": 5}},
                                               {"id": "c", "type": "MLP"}, blocks={"MLP": MLP})))
    assert a.ok, a.errors
    assert a.root.nodes["b"].shape == (10,) and a.root.nodes["c"].shape == (8,)  # 5 * 2, then the default 4 * 2
    assert a.report()["nodes"]["b"]["args"] == {"width": 5}


@pytest.mark.parametrize("params,field,needle", [
    ({"depth": 3}, "params.depth", "has no argument 'depth'"),
    ({"width": "wide"}, "params.width", "must be an integer"),
    ({"width": True}, "params.width", "must be an integer"),
    ({"width": 0}, "params.width", "at least 1"),
    ({"width": {"expr": "i + 1"}}, "params.width", "only nodes inside a block"),
])
def test_instance_args_are_checked(params, field, needle):
    errs = errors(design({"id": "b", "type": "MLP", "params": params}, blocks={"MLP": MLP}))
    assert [(e["node"], e["field"]) for e in errs] == [("b", field)], errs
    assert needle in errs[0]["message"]


@pytest.mark.parametrize("text,needle", [
    ("(" * 240 + "1" + ")" * 240, "expression"),
    ("(" * 20 + "1" + ")" * 20 + " + 1" * 100, "too large"),
    ("-" * 450 + "width", "too large"),
    ("width." + "real", "Attribute"),
    ("__import__('os').system('true')", "calls something other than"),
    ("9 ** 9 ** 9", "power beyond 64"),
    ("width * 10 ** 15", "beyond"),
    ("depth * 2", "'depth', which is not an argument"),
    ("width / 0", "division by zero"),
    ("x" * 600, "the limit is 500"),
])
def test_hostile_expressions_are_clear_errors_at_once(text, needle):
    bad = block(WIDTH, {"id": "fc", "type": "Linear", "params": {"out_features": {"expr": text}}})
    start = time.monotonic()
    errs = errors(design({"id": "b", "type": "MLP"}, blocks={"MLP": bad}))
    assert time.monotonic() - start < 5
    assert [(e["node"], e["field"], e["block"]) for e in errs] == [("b", "params.out_features", "MLP")], errs
    assert needle in errs[0]["message"] and "in block 'MLP'" in errs[0]["message"]


def test_bad_arg_declarations_name_the_block_and_arg():
    for spec, needle in [({"type": "integer", "default": "4"}, "must be an integer"),
                         ({"type": "integer", "default": 0, "minimum": 1}, "at least 1"),
                         ({"type": "string", "default": "a", "enum": ["b"]}, "one of b")]:
        errs = errors(design({"id": "b", "type": "MLP"}, blocks={"MLP": block({"width": spec})}))
        assert [(e["field"], e.get("block")) for e in errs][:1] == [("args.width", None)] or errs[0]["field"] == "args.width"
        assert needle in errs[0]["message"]
    errs = errors(design({"id": "b", "type": "MLP"}, blocks={"MLP": block({"i": {"type": "integer", "default": 1}})}))
    assert errs[0]["field"] == "args.i" and "reserved" in errs[0]["message"]


def test_huge_repeat_is_refused():
    errs = errors(design({"id": "b", "type": "MLP", "repeat": 10**9}, blocks={"MLP": MLP}))
    assert [(e["node"], e["field"]) for e in errs] == [("b", "repeat")] and "1 to 1,000" in errs[0]["message"]


def test_repeat_times_nested_blocks_past_max_nodes_is_refused_quickly():
    inner = block({}, {"id": "fc", "type": "Linear", "params": {"out_features": 8}})
    outer = block({}, {"id": "many", "type": "Inner", "repeat": 1000})
    start = time.monotonic()
    errs = errors(design({"id": "b", "type": "Outer", "repeat": 1000}, blocks={"Inner": inner, "Outer": outer}))
    assert time.monotonic() - start < 5
    assert errs[0]["node"] == "b" and errs[0]["field"] == "repeat", errs
    assert "nodes" in errs[0]["message"] and "BLOCKLAB_MAX_NODES" in errs[0]["message"]


def test_repeat_past_max_params_is_refused_before_allocating():
    wide = block({}, {"id": "fc", "type": "Linear", "params": {"out_features": 4096}})
    doc = design({"id": "b", "type": "Wide", "repeat": 1000}, blocks={"Wide": wide}, shape=(4096,))
    errs = errors(doc, Limits(max_nodes=100_000))
    assert errs and errs[0]["node"] == "b" and "BLOCKLAB_MAX_PARAMS" in errs[0]["message"], errs


def test_repeated_copies_each_get_their_index_and_errors_name_the_copy():
    doc = design({"id": "b", "type": "MLP", "repeat": 3, "params": {"width": {"expr": "4 - 2 * i"}}}, blocks={"MLP": MLP})
    errs = errors(doc)  # copy 2 has width 0
    assert [(e["node"], e["field"]) for e in errs] == [("b", "params.width")] and "at least 1" in errs[0]["message"]
    ok = design({"id": "b", "type": "MLP", "repeat": 3, "params": {"width": {"expr": "i + 1"}}}, blocks={"MLP": MLP})
    a = analyze(GraphDoc.model_validate(ok))
    assert a.ok and a.root.nodes["b"].shape == (6,)
    assert [c["args"] for c in a.report()["nodes"]["b"]["copies"]] == [{"width": 1}, {"width": 2}, {"width": 3}]


def test_repeat_needs_one_input_and_only_instances_repeat():
    two = block({}, {"id": "add", "type": "Add"}, edges=[])
    two["nodes"].insert(1, {"id": "x2", "type": "Input"})
    two["edges"] = [{"source": "x", "target": "add"}, {"source": "x2", "target": "add"}, {"source": "add", "target": "y"}]
    doc = design({"id": "b", "type": "Two", "repeat": 2}, blocks={"Two": two})
    doc["edges"] = [{"source": "X", "target": "b", "target_port": "x"}, {"source": "X", "target": "b", "target_port": "x2"},
                    {"source": "b", "target": "Y"}]
    assert ("b", "repeat", None) in where(doc)
    assert where(design({"id": "fc", "type": "Linear", "repeat": 2}, blocks={})) == [("fc", "repeat", None)]


def test_recursion_between_blocks_via_args_is_refused():
    a = block({"depth": {"type": "integer", "default": 2}},
              {"id": "inner", "type": "B", "params": {"depth": {"expr": "depth - 1"}}, "when": "depth > 0"})
    b = block({"depth": {"type": "integer", "default": 2}},
              {"id": "inner", "type": "A", "params": {"depth": {"expr": "depth - 1"}}, "when": "depth > 0"})
    errs = errors(design({"id": "top", "type": "A"}, blocks={"A": a, "B": b}))
    assert errs and all("cannot be recursive" in e["message"] for e in errs)


def test_calls_to_another_scope_to_itself_and_with_params():
    inner = block({}, {"id": "fc", "type": "Linear", "params": {"out_features": 8}})
    doc = design({"id": "b", "type": "Inner"}, {"id": "again", "type": "Linear", "calls": "fc"}, blocks={"Inner": inner})
    assert where(doc) == [("again", "calls", None)] and "not a node of this graph" in errors(doc)[0]["message"]
    doc = design({"id": "fc", "type": "Linear", "params": {"out_features": 8}}, {"id": "me", "type": "Linear", "calls": "me"},
                 blocks={})
    assert where(doc) == [("me", "calls", None)] and "loop" in errors(doc)[0]["message"]
    doc = design({"id": "fc", "type": "Linear", "params": {"out_features": 4}}, {"id": "again", "type": "Linear", "calls": "fc"},
                 blocks={})
    assert where(doc) == [("again", "calls", None)] and "input shapes differ" in errors(doc)[0]["message"]
    doc = design({"id": "fc", "type": "Linear", "params": {"out_features": 8}},
                 {"id": "again", "type": "Linear", "calls": "fc", "params": {"out_features": 8}}, blocks={})
    assert where(doc) == [("again", "params", None)]


def test_when_on_a_node_that_changes_the_shape_or_has_two_inputs():
    opt = block({"use": {"type": "boolean", "default": False}},
                {"id": "proj", "type": "Linear", "params": {"out_features": 3}, "when": "use"})
    errs = errors(design({"id": "b", "type": "Opt"}, blocks={"Opt": opt}))
    assert [(e["node"], e["field"], e.get("path")) for e in errs] == [("b", "when", "b.proj")], errs
    assert "[8] would pass through in place of its output [3]" in errs[0]["message"]
    assert errors(design({"id": "b", "type": "Opt", "params": {"use": True}}, blocks={"Opt": opt})) == []
    top = design({"id": "fc", "type": "Linear", "params": {"out_features": 8}, "when": "True"}, blocks={})
    assert where(top) == [("fc", "when", None)] and "only nodes inside a block" in errors(top)[0]["message"]


def test_api_answers_hostile_documents_with_4xx(client):
    bad = block(WIDTH, {"id": "fc", "type": "Linear", "params": {"out_features": {"expr": "(" * 200 + ")" * 200}}})
    for doc in [design({"id": "b", "type": "MLP", "repeat": 10**9}, blocks={"MLP": MLP}),
                design({"id": "b", "type": "MLP", "repeat": {"expr": "10 ** 12"}}, blocks={"MLP": MLP}),
                design({"id": "b", "type": "MLP"}, blocks={"MLP": bad}),
                design({"id": "b", "type": "MLP", "repeat": "2"}, blocks={"MLP": MLP})]:
        rep = client.post("/api/graphs/validate", json=doc)
        assert rep.status_code in (200, 422), rep.text
        if rep.status_code == 200:
            assert rep.json()["ok"] is False and rep.json()["errors"][0]["node"] == "b"
        assert client.post("/api/export/python", json=doc).status_code == 422


def test_a_sweep_varies_an_instance_arg_by_its_node_path(tmp_path):
    from blocklab.runs.sweep_space import SweepCreate, apply, check

    graph = design({"id": "b", "type": "MLP"}, {"id": "fc", "type": "Linear", "params": {"out_features": 3}},
                   blocks={"MLP": MLP}, shape=(4,))
    body = {"graph": graph, "dataset": {"name": "iris"}, "loss": "cross_entropy", "epochs": 1, "device": "cpu"}
    trial = apply(body, {"nodes.b.width": 7})
    assert analyze(GraphDoc.model_validate(trial["graph"])).root.nodes["b"].shape == (14,)  # the arg reached fc inside
    ok = SweepCreate.model_validate({"run": body, "space": {"nodes.b.width": {"low": 1, "high": 8}}})
    assert check(ok, body, Limits(), tmp_path, lambda: False) == []
    bad = SweepCreate.model_validate({"run": body, "space": {"nodes.b.width": {"low": 0, "high": 8}}})
    errs = check(bad, body, Limits(), tmp_path, lambda: False)
    assert [(e["node"], e["field"]) for e in errs] == [("b", "space.nodes.b.width")]
    assert "at 0" in errs[0]["message"] and "at least 1" in errs[0]["message"]


def test_calls_on_a_repeated_instance_calls_all_its_copies():
    import torch

    from blocklab.graph.build import build

    square = block({}, {"id": "fc", "type": "Linear", "params": {"out_features": 8}})
    doc = design({"id": "b", "type": "Sq", "repeat": 3}, {"id": "again", "type": "Sq", "calls": "b"}, blocks={"Sq": square})
    a = analyze(GraphDoc.model_validate(doc))
    assert a.ok, a.errors
    assert a.root.n_params == 3 * (8 * 8 + 8)  # the second call holds nothing of its own
    m = build(GraphDoc.model_validate(doc))
    assert list(m.state_dict()) == [f"b.{k}.fc.{w}" for k in range(3) for w in ("weight", "bias")]
    x = torch.rand(2, 8)
    torch.testing.assert_close(m(x), m.b(m.b(x)))
    other = design({"id": "b", "type": "Sq", "repeat": 3}, {"id": "c", "type": "Sq", "shares": "b", "repeat": 2},
                   blocks={"Sq": square})
    assert where(other) == [("c", "shares", None)]
