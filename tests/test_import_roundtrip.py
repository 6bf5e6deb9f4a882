"""Round trip through PyTorch as the test oracle (issue 15, item 5): for every block in the
registry's test models and every template, export to PyTorch -> `from_module` (torch.fx)
-> export again gives the same document up to layout, the same state_dict keys and shapes,
and the same outputs. Torch (the first export) is the reference."""

from __future__ import annotations

import pytest
import torch

from blocklab.graph.build import source_for
from blocklab.graph.document import GraphDoc
from blocklab.importers import NotImportable, from_module, weights_for
from graphs import load_exported
from roundtrip import MODELS, inputs, model_doc, structure

# What the exported source keeps no trace of: an Identity is `y = x` there.
VANISHES = {"block:Identity": "Identity"}


def _export(doc: dict) -> torch.nn.Module:
    torch.manual_seed(0)
    return load_exported(source_for(GraphDoc.model_validate(doc)))().eval()


@pytest.mark.parametrize("case", MODELS)
def test_pytorch_round_trip(case):
    doc = model_doc(case)
    module = _export(doc)
    xs = inputs(doc)
    try:
        again = from_module(module, tuple(xs) if len(xs) > 1 else xs[0])
    except NotImportable as e:  # a data-dependent while/if in forward(): named, never dropped
        assert all("control flow" in u["reason"] for u in e.unsupported), e.unsupported
        custom = [n for n in doc["nodes"] if n["type"] == "CustomLayer"] + [
            n for b in doc.get("blocks", {}).values() for n in b["nodes"] if n["type"] == "CustomLayer"]
        assert any("while" in n["params"]["expr"] for n in custom), e.unsupported
        pytest.xfail("torch.fx records one path through Python control flow; the loop is named: "
                     f"{[u['node'] for u in e.unsupported]}")
    if case in VANISHES:
        doc = {**doc, "nodes": [n for n in doc["nodes"] if n["type"] != VANISHES[case]],
               "edges": [{"source": "in_x", "target": "Y"}]}
    assert structure(again) == structure(doc)
    rebuilt = load_exported(source_for(GraphDoc.model_validate(again)))().eval()
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in module.state_dict().items()}
    rebuilt.load_state_dict(weights_for(again, module.state_dict()), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(*xs), module(*xs), atol=1e-5, rtol=1e-5)
