"""Small builders for graph documents used across the tests."""

from __future__ import annotations

import json
import runpy
import tempfile
from pathlib import Path

from blocklab.api.templates import load_templates


def chain(input_shape, *layers, name: str = "test") -> dict:
    """Input -> layers... -> Output; each layer is (id, type) or (id, type, params) or (id, type, params, extra)."""
    nodes = [{"id": "X", "type": "Input", "params": {"shape": list(input_shape)}}]
    for spec in layers:
        node = {"id": spec[0], "type": spec[1], "params": spec[2] if len(spec) > 2 else {}}
        node.update(spec[3] if len(spec) > 3 else {})
        nodes.append(node)
    nodes.append({"id": "Y", "type": "Output"})
    edges = [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:])]
    return {"version": 1, "name": name, "nodes": nodes, "edges": edges, "blocks": {}}


def template(tid: str) -> dict:
    t = next(t for t in load_templates() if t["id"] == tid)
    return json.loads(json.dumps(t["graph"]))


def load_exported(source: str):
    """Run exported source as a standalone file (as a user would) and return its Model class."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "model.py"
        path.write_text(source)
        return runpy.run_path(str(path), run_name="exported_model")["Model"]
