"""Round trip through ONNX as the test oracle (issue 15, item 5): every block of the
registry's test models and every template, side by side in one document, go through
POST /api/export/onnx's exporter -> POST /api/import/onnx -> export again; the second file
computes in onnxruntime what the PyTorch model computes. What the importer cannot map is a
node of type onnx.<Op> and listed in `unsupported`: the cases where that happens are named
below, each with the reason, so a new gap (or a closed one) fails this test."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from blocklab.graph.analyze import analyze
from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from blocklab.importers.onnx_export import to_onnx
from blocklab.importers.onnx_import import from_onnx
from roundtrip import MODELS, combined, feeding

ort = pytest.importorskip("onnxruntime")

# Cases whose export holds operators no block maps back (the import names each of them).
# LSTM and GRU come back as one block (importers.onnx_recurrent), the unrolled nn.RNN too
# (importers.onnx_unrolled).
NOT_BACK: dict[str, str] = {
    # A CustomLayer's while/if (ONNX Loop/If) comes back as a CustomLayer (importers.onnx_loops).
}


def _run(data: bytes, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    s = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [o.name for o in s.get_outputs()]
    return dict(zip(names, s.run(None, {i.name: feeds[i.name] for i in s.get_inputs()})))


def _feeds(analysis, scale: float) -> list[torch.Tensor]:
    """Values in [-scale, scale), except an Embedding's indices (in [0, 1): index 0), so a
    CustomLayer's while loop runs for no, a few and many rounds as the scale grows."""
    root = analysis.root
    indices = {s for n in root.nodes.values() if getattr(n.kind, "takes_indices", False) for s in n.inputs.values()}
    return [torch.rand(3, *root.nodes[i].shape) if i in indices else (torch.rand(3, *root.nodes[i].shape) * 2 - 1) * scale
            for i in root.inputs]


@pytest.fixture(scope="module")
def trip():
    doc, outputs = combined(MODELS)
    analysis = analyze(GraphDoc.model_validate(doc))
    assert analysis.ok, [e.to_json() for e in analysis.errors][:5]
    torch.manual_seed(0)
    model = build(GraphDoc.model_validate(doc)).eval()
    with torch.no_grad():  # no tensor left at its ones/zeros init, so every weight's place is really checked
        saved = model.state_dict()  # what the export carries: non-persistent buffers are drawn afresh there
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            if t.is_floating_point() and name in saved:
                t.add_(torch.rand_like(t) * 0.2 - 0.1) if "running_var" not in name else t.uniform_(0.5, 2)
    first = to_onnx(analysis, doc["name"], model.state_dict())
    runs = []  # (onnxruntime feeds, PyTorch's outputs by Output id) at three scales
    for scale in (0.01, 1.0, 100.0):
        xs = _feeds(analysis, scale)
        with torch.no_grad():
            ys = model(*xs)
        runs.append(({i: x.numpy() for i, x in zip(analysis.root.inputs, xs)},
                     {analysis.root.nodes[o].id: y.numpy() for o, y in zip(analysis.root.outputs, ys)}))
    return outputs, runs, first, from_onnx(first, "all")


def _off(got: dict, want: dict, keys) -> dict[str, float]:
    """Outputs further than 1e-4 (relative to the output's size where it is large) from PyTorch's."""
    err = {k: float(np.abs(got[k] - want[k]).max() / max(1.0, float(np.abs(want[k]).max()))) for k in keys}
    return {k: v for k, v in err.items() if not v <= 1e-4}


def test_the_first_export_computes_the_pytorch_model(trip):
    """Every template and every block, exported (POST /api/export/onnx's code), runs in
    onnxruntime with PyTorch's outputs; the while loops run for different numbers of rounds."""
    outputs, runs, first, _ = trip
    case = {o: c for c, outs in outputs.items() for o in outs}
    for feeds, want in runs:
        bad = _off(_run(first, feeds), want, want)
        assert not bad, {case[k]: v for k, v in bad.items()}


def test_what_is_not_mapped_back_is_named(trip):
    outputs, _, _, imported = trip
    graph = imported.graph
    odd = {n["id"] for n in graph["nodes"] if n["type"].startswith("onnx.")}
    cases = {c for c, outs in outputs.items() if feeding(graph, outs) & odd}
    assert cases == set(NOT_BACK), sorted(cases ^ set(NOT_BACK))
    # Every onnx.<Op> node in the design is an entry of `unsupported`, op for op.
    assert sorted(n["type"][5:] for n in graph["nodes"] if n["id"] in odd) == sorted(u["op"] for u in imported.unsupported)


def test_the_rest_exports_again_with_the_same_outputs(trip):
    outputs, runs, _, imported = trip
    graph = imported.graph
    odd = {n["id"] for n in graph["nodes"] if n["type"].startswith("onnx.")}
    keep = [o for c, outs in outputs.items() if c not in NOT_BACK for o in outs]
    ids = feeding(graph, keep)
    assert not ids & odd
    pruned = {**graph, "nodes": [n for n in graph["nodes"] if n["id"] in ids],
              "edges": [e for e in graph["edges"] if e["target"] in ids]}
    analysis = analyze(GraphDoc.model_validate(pruned))
    assert analysis.ok, [e.to_json() for e in analysis.errors][:5]
    state = {k: v for k, v in imported.weights.items() if k.split(".")[0] in ids}
    again = to_onnx(analysis, "again", state)
    case = {o: c for c, outs in outputs.items() for o in outs}
    for feeds, want in runs:
        got = _run(again, feeds)
        assert set(got) == set(keep)
        bad = _off(got, want, keep)
        assert not bad, {case[k]: v for k, v in bad.items()}
