"""The round trip as a test oracle: the registry's test models (one block each, with its
sample inputs, as tests/test_registry.py builds them) and every template, compared with
what comes back from an import. Shared by the PyTorch and the ONNX round-trip tests."""

from __future__ import annotations

import torch

from blocklab.api.templates import load_templates
from blocklab.blocks import REGISTRY
from blocklab.blocks.custom import CustomP, program
from blocklab.custom.emit import forward_body
from blocklab.graph.analyze import analyze
from blocklab.graph.document import GraphDoc
from test_registry import BLOCK_TYPES, single_block_doc

TEMPLATES = {t["id"]: t["graph"] for t in load_templates()}
MODELS = [f"block:{t}" for t in BLOCK_TYPES] + [f"template:{t}" for t in TEMPLATES]


def model_doc(case: str) -> dict:
    kind, name = case.split(":", 1)
    if kind == "block":
        return single_block_doc(name, {}, REGISTRY[name].sample).model_dump(mode="json", exclude_none=True)
    return TEMPLATES[name]


def inputs(doc: dict, batch: int = 3, seed: int = 0) -> list[torch.Tensor]:
    """Values in [0, 1) (valid everywhere, Embedding indices included), as the registry test uses."""
    root = analyze(GraphDoc.model_validate(doc)).root
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(batch, *root.nodes[i].shape, generator=g) for i in root.inputs]


def _meaning(type_name: str, resolved: dict | None) -> object:
    """Params as what they compute: the torch module they build where there is one
    (AvgPool2d stride=None and stride=2 are the same layer), else the resolved params. A
    CustomLayer's `init` says how fresh weights are drawn, which an import cannot know
    (it carries the weights themselves): left out. The text is compared as the forward()
    it generates, so `x /= 2` and `x = x / 2` are the same layer."""
    kind = REGISTRY.get(type_name)
    if resolved is None or kind is None:
        return resolved
    if type_name == "CustomLayer":  # its text as the forward it generates: `x /= 2` is `x = x / 2`
        p = CustomP.model_validate(resolved)
        return {k: ({n: {a: b for a, b in spec.items() if a != "init"} for n, spec in v.items()}
                    if k in ("parameters", "constants") else v) for k, v in resolved.items() if k != "expr"} | {
            "forward": forward_body(program(p), p.max_iter)}
    if kind.module is not None and kind.role == "layer":
        with torch.device("meta"):
            return repr(eval(kind.module(kind.params.model_validate(resolved)), {"nn": torch.nn, "torch": torch}))
    return resolved


def structure(doc: dict) -> dict:
    """The document up to layout and to the names of nodes that hold no module (an `x + y`
    has no attribute name in the exported source): per graph, the nodes in order as
    (type, params resolved, shape), and the edges between their positions."""
    report = analyze(GraphDoc.model_validate(doc)).report()

    def graph(nodes: list[dict], edges: list[dict], shapes: dict | None) -> dict:
        at = {n["id"]: i for i, n in enumerate(nodes)}
        rows = [(n["type"], _meaning(n["type"], (shapes or {}).get(n["id"], {}).get("resolved")),
                 (shapes or {}).get(n["id"], {}).get("output_shape"), n.get("shares") and at[n["shares"]],
                 n.get("calls") and at[n["calls"]]) for n in nodes]
        types = {n["id"]: n["type"] for n in nodes}

        def port(e: dict) -> str | None:  # an edge naming no port feeds the first one
            kind = REGISTRY.get(types[e["target"]])
            return e.get("target_port") or (kind.ports[0].name if kind is not None and kind.ports else None)

        links = sorted((at[e["source"]], e.get("source_port") or "", at[e["target"]], port(e)) for e in edges)
        return {"nodes": rows, "edges": links}

    out = {"": graph(doc["nodes"], doc["edges"], report["nodes"])}
    for name, b in doc.get("blocks", {}).items():
        out[name] = graph(b["nodes"], b["edges"], None)
    return out


def combined(cases: list[str]) -> tuple[dict, dict[str, list[str]]]:
    """One document holding every case side by side (node ids and block names prefixed with
    the case), so one ONNX export covers them all; and each case's Output ids."""
    nodes, edges, blocks, outputs = [], [], {}, {}
    for k, case in enumerate(cases):
        doc, p = model_doc(case), f"m{k}_"
        names = {b: f"{p}{b}" for b in doc.get("blocks", {})}

        def moved(n: dict) -> dict:
            out = {**n, "id": p + n["id"] if n["id"] else n["id"], "type": names.get(n["type"], n["type"])}
            return out | {k: p + n[k] for k in ("shares", "calls") if n.get(k)}

        nodes += [moved(n) for n in doc["nodes"]]
        edges += [{**e, "source": p + e["source"], "target": p + e["target"]} for e in doc["edges"]]
        for b, body in doc.get("blocks", {}).items():
            blocks[names[b]] = {**body, "nodes": [{**n, "type": names.get(n["type"], n["type"])} for n in body["nodes"]]}
        outputs[case] = [p + n["id"] for n in doc["nodes"] if n["type"] == "Output"]
    return {"version": 1, "name": "all", "nodes": nodes, "edges": edges, "blocks": blocks}, outputs


def feeding(doc: dict, outputs: list[str]) -> set[str]:
    """The ids of the nodes these outputs are computed from, themselves included."""
    into: dict[str, list[str]] = {}
    for e in doc["edges"]:
        into.setdefault(e["target"], []).append(e["source"])
    seen, stack = set(), list(outputs)
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack += into.get(n, [])
    return seen
