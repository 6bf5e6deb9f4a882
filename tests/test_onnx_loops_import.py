"""A CustomLayer's while/if, exported as ONNX Loop/If (importers.onnx_flow), comes back
from the ONNX importer as one CustomLayer whose expr says the same, max_iter included: the
imported layer runs as many rounds as the data needs, as the original does (torch, the
original design built, is the reference)."""

from __future__ import annotations

import pytest
import torch

from blocklab.graph.analyze import analyze
from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from blocklab.importers.onnx_export import to_onnx
from blocklab.importers.onnx_import import from_onnx
from graphs import chain

pytest.importorskip("onnxscript")

CASES = [
    ("while x.abs().sum() > 1:\n    x /= 2\nx", 100, "while sum(abs(x)) > 1.0:\n    x = x / 2.0\nx"),
    ("while x.norm() > 1:\n    x = x / 2\nif x.norm() < 0.8:\n    x *= 10\nx", 7,
     "while norm(x) > 1.0:\n    x = x / 2.0\nif norm(x) < 0.8:\n    x = x * 10.0\nx"),
    ("if x.mean() > 0:\n    x = relu(x) - 1\nelse:\n    x = x * 2\nx", 100,
     "if mean(x) > 0.0:\n    x = relu(x) - 1.0\nelse:\n    x = x * 2.0\nx"),
]


@pytest.mark.parametrize("expr,max_iter,back", CASES)
def test_a_custom_layers_while_and_if_come_back(expr, max_iter, back):
    doc = GraphDoc.model_validate(chain((4,), ("flow", "CustomLayer", {"expr": expr, "max_iter": max_iter})))
    model = build(doc).eval()
    imported = from_onnx(to_onnx(analyze(doc), doc.name, model.state_dict()))
    assert imported.unsupported == []
    layer = next(n for n in imported.graph["nodes"] if n["type"] == "CustomLayer")
    assert layer["params"]["expr"] == back and layer["params"].get("max_iter", 100) == max_iter
    again = build(GraphDoc.model_validate(imported.graph)).eval()
    x = torch.full((2, 4), 0.1) * torch.tensor([[1.0], [-1.0]])
    with torch.no_grad():
        for scale in (1, 10, 1000):  # none, a few and many rounds (past max_iter=7 at the end)
            got = again(x * scale)
            torch.testing.assert_close(got[0] if isinstance(got, (list, tuple)) else got, model(x * scale))


def test_a_loop_whose_text_would_explode_is_listed(client):
    """An If whose branch adds a value to itself 60 times prints 2**60 x's: refused at the
    text limit, the If listed, answered at once (never a 500)."""
    import onnx
    from onnx import TensorProto, helper as h, numpy_helper as nh
    import numpy as np

    steps = [h.make_node("Add", ["x" if k == 0 else f"a{k - 1}"] * 2, [f"a{k}"]) for k in range(60)]
    then = h.make_graph(steps, "then", [], [h.make_tensor_value_info("a59", TensorProto.FLOAT, ["b", 4])])
    orelse = h.make_graph([h.make_node("Identity", ["x"], ["e"])], "else", [],
                          [h.make_tensor_value_info("e", TensorProto.FLOAT, ["b", 4])])
    nodes = [h.make_node("ReduceSum", ["x"], ["s"], keepdims=0), h.make_node("Greater", ["s", "zero"], ["c"]),
             h.make_node("If", ["c"], ["y"], then_branch=then, else_branch=orelse)]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 4])],
                     [h.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 4])], [nh.from_array(np.float32(0), "zero")])
    data = h.make_model(g, opset_imports=[h.make_opsetid("", 18)]).SerializeToString()
    r = client.post("/api/import/onnx", files={"file": ("if.onnx", data)})
    assert r.status_code == 200, r.text
    assert "If" in [u["op"] for u in r.json()["unsupported"]]
