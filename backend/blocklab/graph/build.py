"""Document -> torch module, by executing the generated source (see codegen).

The result is an ordinary nn.Module with straight-line forward code: no per-step
interpretation of the graph, so it trains exactly as fast as hand-written PyTorch.
"""

from __future__ import annotations

import hashlib
import linecache
from functools import lru_cache

from torch import nn

from blocklab.custom import cancel
from blocklab.graph.analyze import Analysis, Limits, analyze
from blocklab.graph.codegen import generate
from blocklab.graph.document import GraphDoc


class GraphInvalid(Exception):
    """The document does not describe a buildable network; `errors` says why, per node."""

    def __init__(self, analysis: Analysis):
        self.errors = [e.to_json() for e in analysis.errors if e.severity == "error"]
        super().__init__("; ".join(e["message"] for e in self.errors[:5]))


@lru_cache(maxsize=64)
def model_class(source: str) -> type[nn.Module]:
    filename = f"<blocklab:{hashlib.sha1(source.encode()).hexdigest()[:12]}>"
    # Registering the source lets tracebacks and inspect.getsource show the generated lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    # `range` counts the rounds of CustomLayer while loops (the only loops generated code
    # has): bound to cancel.rounds, a run's stop reaches inside a step. Exported code keeps
    # the builtin.
    namespace: dict = {"__name__": "blocklab_generated", "range": cancel.rounds}
    exec(compile(source, filename, "exec"), namespace)  # source from codegen only, never user text
    return namespace["Model"]


def source_for(doc: GraphDoc, limits: Limits = Limits()) -> str:
    analysis = analyze(doc, limits)
    if not analysis.ok:
        raise GraphInvalid(analysis)
    return generate(analysis, doc.name)


def build(doc: GraphDoc, limits: Limits = Limits()) -> nn.Module:
    """A fresh model with freshly initialised weights (seed torch first for repeatability)."""
    return model_class(source_for(doc, limits))()
