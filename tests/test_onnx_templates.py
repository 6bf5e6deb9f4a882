"""ONNX export of every template (whatever templates exist): the .onnx file runs in
onnxruntime with the PyTorch model's outputs (max abs diff <= 1e-4) at a dynamic batch
size, for inputs small and large, so a CustomLayer's data-dependent while loop runs for
a different number of rounds (and its if takes either branch). Torch is the reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from blocklab.api.templates import load_templates
from blocklab.graph.analyze import analyze
from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from blocklab.importers.onnx_export import to_onnx

ort = pytest.importorskip("onnxruntime")
SCALES = (0.01, 1.0, 100.0)


def _inputs(analysis, scale: float, batch: int = 3) -> list[torch.Tensor]:
    root = analysis.root
    # An Input feeding an Embedding holds indices (as floats; the model casts them), the rest real numbers.
    # (n.kind is None for a composite block.)
    tables = {src: n.params.num_embeddings for n in root.nodes.values() if getattr(n.kind, "takes_indices", False)
              for src in n.inputs.values()}
    return [torch.randint(0, tables[i], (batch, *root.nodes[i].shape)).float() if i in tables
            else torch.randn(batch, *root.nodes[i].shape) * scale for i in root.inputs]


@pytest.mark.parametrize("tid", [t["id"] for t in load_templates()])
def test_every_template_exports_and_runs_in_onnxruntime(tid):
    graph = next(t["graph"] for t in load_templates() if t["id"] == tid)
    doc = GraphDoc.model_validate(graph)
    analysis = analyze(doc)
    torch.manual_seed(1)
    model = build(doc).eval()
    session = ort.InferenceSession(to_onnx(analysis, doc.name, model.state_dict()), providers=["CPUExecutionProvider"])
    for scale in SCALES:
        xs = _inputs(analysis, scale)
        with torch.no_grad():
            want = model(*xs)
        want = [w.numpy() for w in (want if isinstance(want, (tuple, list)) else [want])]
        got = session.run(None, {i.name: x.numpy() for i, x in zip(session.get_inputs(), xs)})
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape and np.abs(g - w).max() <= 1e-4 * max(1.0, np.abs(w).max()), (tid, scale)
