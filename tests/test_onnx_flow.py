"""A CustomLayer's while/if exported as ONNX Loop and If (importers.onnx_flow): the file
runs in onnxruntime with the PyTorch model's outputs for inputs that take the loop through
zero, a few and max_iter rounds, and either branch of an if. Torch is the reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from blocklab.graph.analyze import analyze
from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from blocklab.importers.onnx_export import ExportFailed, to_onnx
from graphs import chain

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


def _ops(graph) -> set[str]:
    """Operator types in the graph and in its Loop bodies and If branches."""
    out = set()
    for n in graph.node:
        out.add(n.op_type)
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                out |= _ops(a.g)
    return out


def _export(expr: str, shape=(4,), **params):
    doc = GraphDoc.model_validate(chain(shape, ("flow", "CustomLayer", {"expr": expr, **params})))
    analysis = analyze(doc)
    assert analysis.ok, [e.to_json() for e in analysis.errors]
    model = build(doc).eval()
    data = to_onnx(analysis, doc.name, model.state_dict())
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    ops = _ops(onnx.load_from_string(data).graph)

    def both(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            want = model(x).numpy()
        return session.run(None, {"X": x.numpy()})[0], want

    return both, ops


def test_while_runs_as_many_rounds_as_the_data_needs():
    run, ops = _export("while x.abs().sum() > 1:\n    x /= 2\nx")
    assert "Loop" in ops  # a graph loop, not the rounds of one example input unrolled
    x = torch.full((2, 4), 0.1)
    for scale, rounds in ((1, 0), (2, 1), (10, 3), (1000, 10)):  # |x| sums to 0.8 * scale
        got, want = run(x * scale)
        np.testing.assert_allclose(got, want, atol=1e-6)
        np.testing.assert_allclose(got, (x * scale / 2 ** rounds).numpy(), atol=1e-6)  # so the rounds really ran


def test_while_stops_after_max_iter_rounds_like_the_python_loop():
    run, _ = _export("while x.abs().sum() > 1:\n    x /= 2\nx", max_iter=3)
    got, want = run(torch.full((3, 4), 100.0))
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(got, np.full((3, 4), 12.5))  # 100 / 2**3, though the sum is still over 1


def test_if_else_nested_while_and_logic():
    expr = ("s = x.abs().sum()\n"
            "if s > 5 and not s > 50:\n"
            "    while x.norm() > 1:\n"
            "        x = x * 0.5\n"
            "    y2 = x + 1\n"
            "else:\n"
            "    y2 = x - 1\n"
            "y2 * s")
    run, ops = _export(expr)
    assert {"Loop", "If"} <= ops
    for scale in (0.1, 1.0, 3.0, 100.0):  # both branches; the loop inside one of them
        got, want = run(torch.linspace(-1, 1, 8).reshape(2, 4) * scale)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_a_name_made_in_one_branch_only_is_refused_naming_the_node():
    doc = GraphDoc.model_validate(chain((4,), ("flow", "CustomLayer", {"expr": "if x.sum() > 0:\n    y2 = x\n    x = y2 * 2\nx"})))
    analysis = analyze(doc)
    if not analysis.ok:
        pytest.skip("the language itself refuses it")
    with pytest.raises(ExportFailed) as e:
        to_onnx(analysis, doc.name)
    assert e.value.node == "flow" and "y2" in str(e.value)


def test_loop_and_branch_bodies_read_names_made_before_them():
    # `h` and `k` are read inside the loop and the branch without being carried (closures in
    # while_loop / torch.cond), and a name made inside the loop stays a loop local.
    expr = ("h = x.abs().sum(dim=1, keepdim=True) + 1\n"
            "k = h * 0 + 2\n"
            "while x.abs().sum() > 1:\n"
            "    t = x / k\n"
            "    x = t\n"
            "if x.sum() > 0:\n"
            "    x = x * h\n"
            "x + k")
    run, _ = _export(expr, max_iter=50)
    for scale in (0.01, 5.0, 500.0):
        for sign in (1, -1):
            got, want = run(torch.linspace(0.1, 1, 8).reshape(2, 4) * scale * sign)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
