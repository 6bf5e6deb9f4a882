"""blocklab.importers.from_module: an nn.Module and an example input -> a graph document,
checked to compute what the module computes before it is returned."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from blocklab.graph.analyze import analyze
from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from blocklab.importers.fx_graph import mode as _mode
from blocklab.importers.fx_import import Context, Scope
from blocklab.importers.fx_merge import merge_reused, plain_names
from blocklab.importers.fx_repeat import chains_as_repeat
from blocklab.importers.layout import layout
from blocklab.importers.weights import weights_for


class NotImportable(Exception):
    """What could not be mapped: [{node: qualified name, op, reason}], never a different model."""

    def __init__(self, unsupported: list[dict[str, str]]):
        self.unsupported = unsupported
        first = unsupported[0]
        super().__init__(f"{len(unsupported)} thing(s) cannot be imported; first: {first['node']}: {first['op']}: "
                         f"{first['reason']}")


def from_module(module: nn.Module, example_input: torch.Tensor | tuple[torch.Tensor, ...], name: str | None = None,
                atol: float = 1e-5) -> dict[str, Any]:
    """The document of `module`, traced with torch.fx on `example_input` (batch dim first).

    Every submodule keeps its name, so `Model().load_state_dict(weights_for(doc, sd), strict=True)`
    takes the module's own state_dict. Raises NotImportable listing every unmapped call."""
    args = tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)
    ctx = Context()
    scope = Scope(ctx, module, "", args, root=True)
    if scope.build() and not ctx.unsupported and not any(n["type"] == "Output" for n in scope.nodes):
        ctx.refuse(type(module).__name__, "output", "returns nothing computed from its inputs")
    if ctx.unsupported:
        raise NotImportable(ctx.unsupported)
    layout(scope.nodes, scope.edges)
    doc = {"version": 1, "name": (name or type(module).__name__)[:200], "nodes": scope.nodes, "edges": scope.edges,
           "blocks": ctx.blocks}
    # Instances of one class that differ: one block with args; a chain of one block's copies: a repeat.
    merged = merge_reused(doc, ctx.classes)
    repeated = chains_as_repeat(merged or doc)
    for better in (repeated, merged):
        if better is not None:
            plain_names(better, ctx.classes)
            try:
                check(better, module, args, atol)
                return better
            except NotImportable:  # a form the analyser refuses: the next one, at last the definitions as traced
                pass
    check(doc, module, args, atol)
    return doc


def check(doc: dict, module: nn.Module, args: tuple, atol: float = 1e-5) -> None:
    """The design validates, takes the module's weights strictly, and gives the same outputs on the
    example and on a batch twice as large (which catches a batch size baked into a reshape)."""
    analysis = analyze(GraphDoc.model_validate(doc))
    errors = [e.to_json() for e in analysis.errors if e.severity == "error"]
    if errors:
        raise NotImportable([{"node": e.get("path") or e["node"] or doc["name"], "op": "validate", "reason": e["message"]}
                             for e in errors])
    model = build(GraphDoc.model_validate(doc))
    try:
        model.load_state_dict(weights_for(doc, module.state_dict()), strict=True)
    except RuntimeError as e:
        raise NotImportable([{"node": doc["name"], "op": "load_state_dict", "reason": str(e)[:500]}]) from None
    model.eval()
    doubled = tuple(torch.cat([a, a]) for a in args)
    with _mode(module, False), torch.no_grad():
        for xs in (args, doubled):
            want, got = module(*xs), model(*xs)
            want = list(want) if isinstance(want, (tuple, list)) else [want]
            got = list(got) if isinstance(got, (tuple, list)) else [got]
            bad = len(want) != len(got) or any(
                w.shape != g.shape or not torch.allclose(w, g, atol=atol, rtol=1e-4) for w, g in zip(want, got))
            if bad:
                raise NotImportable([{"node": doc["name"], "op": "compare",
                                      "reason": f"the imported design computes something else on a batch of "
                                                f"{xs[0].shape[0]}; this is a bug in the importer"}])
