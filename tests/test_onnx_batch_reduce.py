"""A reduction over the whole batch (D2L's CenteredLayer, x - x.mean()) through
torch.onnx.export -> the ONNX importer: one CustomLayer whose expr reduces the whole tensor,
as custom/LANGUAGE.md allows, computing what the torch module computes (the reference)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from blocklab.importers.onnx_import import from_onnx
from test_onnx_interchange import _torch_onnx

pytest.importorskip("onnxscript")


class Whole(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.lin, self.f = nn.Linear(4, 6), f

    def forward(self, x):
        return self.f(self.lin(x))


@pytest.mark.parametrize("f,expr", [(lambda y: y - y.mean(), "x - mean(x)"), (lambda y: y / y.sum(), "x / sum(x)"),
                                    (lambda y: y.max() - y, "max(x) - x")])
def test_a_whole_batch_reduction_comes_back_as_a_custom_layer(f, expr):
    torch.manual_seed(0)
    module, x = Whole(f).eval(), torch.randn(5, 4)
    imported = from_onnx(_torch_onnx(module, x))
    assert imported.unsupported == []
    custom = [n for n in imported.graph["nodes"] if n["type"] == "CustomLayer"]
    assert [n["params"]["expr"] for n in custom] == [expr]
    model = build(GraphDoc.model_validate(imported.graph)).eval()
    model.load_state_dict(imported.weights, strict=True)
    with torch.no_grad():  # the batch's own statistic: another batch gives other values, as in torch
        for batch in (x, torch.randn(2, 4)):
            got = model(batch)
            torch.testing.assert_close(got[0] if isinstance(got, (tuple, list)) else got, module(batch))


def test_a_per_sample_reduction_is_not_taken_for_the_whole_batch():
    """x - x.mean(dim=1, keepdim=True) is per sample: not the whole-batch CustomLayer."""
    module = Whole(lambda y: y - y.mean(dim=1, keepdim=True)).eval()
    imported = from_onnx(_torch_onnx(module, torch.randn(5, 4)))
    assert not any("mean(x)" in n.get("params", {}).get("expr", "") for n in imported.graph["nodes"])
