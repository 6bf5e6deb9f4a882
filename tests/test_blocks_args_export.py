"""The export of blocks with args: one class per definition (its args, then the in-sizes that
differ between uses as keywords), the fallback to one class per specialisation, and `when`."""

from __future__ import annotations

import torch

from blocklab.graph.build import build, source_for
from blocklab.graph.document import GraphDoc
from graphs import load_exported


def block(args: dict, *inner: dict) -> dict:
    nodes = [{"id": "x", "type": "Input"}, *inner, {"id": "y", "type": "Output"}]
    return {"args": args, "nodes": nodes, "edges": [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:])]}


def design(*top: dict, blocks: dict, shape=(6,)) -> GraphDoc:
    nodes = [{"id": "X", "type": "Input", "params": {"shape": list(shape)}}, *top, {"id": "Y", "type": "Output"}]
    return GraphDoc.model_validate({"version": 1, "nodes": nodes, "blocks": blocks,
                                    "edges": [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:])]})


def same_outputs(doc: GraphDoc, shape=(6,)) -> str:
    """The exported source, after checking it loads the built model's weights and computes the same."""
    src = source_for(doc)
    torch.manual_seed(0)
    built = build(doc)
    exported = load_exported(src)()
    assert list(exported.state_dict()) == list(built.state_dict())
    exported.load_state_dict(built.state_dict(), strict=True)
    x = torch.rand(3, *shape)
    torch.testing.assert_close(exported(x), built(x))
    return src


def test_a_block_without_args_at_two_sizes_is_one_class_with_an_in_size_keyword():
    dense = block({}, {"id": "fc", "type": "Linear", "params": {"out_features": 4}}, {"id": "act", "type": "Tanh"})
    src = same_outputs(design({"id": "a", "type": "Dense"}, {"id": "grow", "type": "Linear", "params": {"out_features": 9}},
                              {"id": "b", "type": "Dense"}, blocks={"Dense": dense}))
    assert src.count("class Dense") == 1
    assert "def __init__(self, in_features=None):" in src and "nn.Linear(in_features, 4, bias=True)" in src
    assert "self.a = Dense(in_features=6)" in src and "self.b = Dense(in_features=9)" in src


def test_args_shared_in_sizes_become_the_arg_and_defaults_stay_out_of_the_call():
    width = {"width": {"type": "integer", "default": 5, "minimum": 1}, "act": {"type": "boolean", "default": True}}
    two = block(width, {"id": "fc1", "type": "Linear", "params": {"out_features": {"expr": "width"}}},
                {"id": "relu", "type": "ReLU", "when": "act"},
                {"id": "fc2", "type": "Linear", "params": {"out_features": {"expr": "width * 2"}}})
    doc = design({"id": "a", "type": "Two"}, {"id": "b", "type": "Two", "params": {"width": 3, "act": False}},
                 blocks={"Two": two})
    src = same_outputs(doc)
    assert "def __init__(self, width=5, act=True, in_features=None):" in src
    assert "nn.Linear(in_features, width, bias=True)" in src and "nn.Linear(width, width * 2, bias=True)" in src
    assert "self.a = Two(in_features=6)" in src and "self.b = Two(width=3, act=False, in_features=10)" in src
    assert "if act:\n            self.relu = nn.ReLU()\n        else:\n            self.relu = None" in src
    assert build(doc).b.relu is None


def test_a_param_forward_reads_is_kept_on_self_in_one_class():
    pick = block({"k": {"type": "integer", "default": 0, "minimum": 0}},
                 {"id": "sel", "type": "Select", "params": {"dim": 1, "index": {"expr": "k"}}})
    doc = design({"id": "a", "type": "Pick", "params": {"k": 1}}, {"id": "r", "type": "Reshape", "params": {"shape": [1, 3]}},
                 {"id": "b", "type": "Pick", "params": {"k": 0}}, blocks={"Pick": pick}, shape=(4, 3))
    src = same_outputs(doc, (4, 3))
    assert "class Pick_2" not in src and "self.sel_index = k" in src and "x.select(1, self.sel_index)" in src
    assert "self.a = Pick(k=1)" in src and "self.b = Pick(k=0)" in src
    assert list(build(doc).state_dict()) == []  # a plain attribute: no key


def test_a_rule_that_writes_a_value_differently_falls_back_to_one_class_per_use():
    # Slice leaves a step of 1 out of its source (x[:, 0:4], x[:, 0:4:2]): no single template.
    cut = block({"s": {"type": "integer", "default": 1, "minimum": 1}},
                {"id": "cut", "type": "Slice", "params": {"dim": 1, "start": 0, "end": 4, "step": {"expr": "s"}}})
    doc = design({"id": "a", "type": "Cut"}, {"id": "b", "type": "Cut", "params": {"s": 2}}, blocks={"Cut": cut}, shape=(8,))
    src = same_outputs(doc)
    assert "class Cut(" in src and "class Cut_2(" in src and "self.b = Cut_2()" in src


def test_a_node_absent_everywhere_has_no_attribute():
    opt = block({"proj": {"type": "boolean", "default": False}},
                {"id": "lin", "type": "Linear", "params": {"out_features": 6}, "when": "proj"})
    src = same_outputs(design({"id": "a", "type": "Opt"}, blocks={"Opt": opt}))
    assert "lin" not in src.split("class Opt")[1].split("class Model")[0].replace("'Opt'", "")


def test_a_switched_node_without_a_module_of_its_own_reads_a_flag():
    # Scale has no module and relu_again calls relu: neither has an attribute to be None.
    opt = block({"on": {"type": "boolean", "default": True}},
                {"id": "relu", "type": "ReLU"},
                {"id": "halve", "type": "Scale", "params": {"factor": 0.5}, "when": "on"},
                {"id": "relu_again", "type": "ReLU", "calls": "relu", "when": "not on"})
    doc = design({"id": "a", "type": "Opt"}, {"id": "b", "type": "Opt", "params": {"on": False}}, blocks={"Opt": opt})
    src = same_outputs(doc)
    assert src.count("class Opt") == 1
    assert "self.use_halve = bool(on)" in src and "self.use_relu_again = bool(not on)" in src
