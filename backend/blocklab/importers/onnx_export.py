"""Design -> .onnx bytes, with torch.onnx.export's dynamo exporter (torch.export, then
onnxscript's translation; the TorchScript exporter is deprecated in torch 2.13 and would
silently unroll a CustomLayer's while loop for the one example input).

The batch dim is dynamic ("batch"), the inputs and outputs are named after the design's
Input and Output nodes. A design whose forward depends on the data (a CustomLayer with
while/if on tensor values) cannot be captured by torch.export and is refused, naming the
node.
"""

from __future__ import annotations

import contextlib
import io
import threading

import torch

from blocklab.custom.block import CustomP, program
from blocklab.custom.tree import If, While
from blocklab.graph.types import Analysis, Scope
from blocklab.graph.build import model_class
from blocklab.graph.codegen import generate

OPSET = 18
_lock = threading.Lock()  # the exporter keeps global state (registries, fake-tensor modes): one at a time


class MissingExtra(RuntimeError):
    """An optional dependency is not installed; the message names the extra."""


class ExportFailed(ValueError):
    def __init__(self, message: str, node: str | None = None):
        super().__init__(message)
        self.node = node


def require(*modules: str) -> None:
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtra(f"this needs {', '.join(missing)}, which is not installed: pip install 'blocklab[interchange]'")


def _control_flow(scope: Scope, path: str = "") -> str | None:
    """The first CustomLayer (as 'inst.inner') whose expr has a while or if, else None."""
    for n in scope.nodes.values():
        if n.scope is not None:
            found = _control_flow(n.scope, f"{path}{n.id}.")
            if found:
                return found
        elif isinstance(n.params, CustomP) and any(isinstance(s, (While, If)) for s in program(n.params).body):
            return path + n.id
    return None


def to_onnx(analysis: Analysis, name: str, state: dict[str, torch.Tensor] | None = None) -> bytes:
    """The .onnx file of a valid analysis, with `state` loaded (strict) or fresh weights."""
    require("onnx", "onnxscript")
    root = analysis.root
    looping = _control_flow(root)
    if looping is not None:
        raise ExportFailed(f"CustomLayer '{looping}' has a while/if that depends on tensor values; torch.export "
                           "(and so ONNX) cannot capture data-dependent control flow", looping.split(".")[0])
    torch.manual_seed(0)
    model = model_class(generate(analysis, name))()
    if state is not None:
        model.load_state_dict(state, strict=True)  # RuntimeError: the caller's 422
    model.eval()
    ids = list(root.inputs)
    examples = tuple(torch.rand(2, *root.nodes[i].shape) for i in ids)  # in [0, 1): valid Embedding indices too
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    outputs = [root.nodes[o].id for o in root.outputs]
    with _lock, contextlib.redirect_stdout(io.StringIO()), torch.no_grad():  # the exporter prints its progress
        try:
            program_ = torch.onnx.export(
                model, examples, dynamo=True, opset_version=OPSET, input_names=ids, output_names=outputs,
                dynamic_shapes=tuple({0: batch} for _ in ids), verbose=False, report=False,
            )
        except Exception as e:  # torch.export's own explanation, first lines
            raise ExportFailed(f"torch.onnx.export failed: {_first_lines(e)}") from None
    return program_.model_proto.SerializeToString()


def _first_lines(e: BaseException) -> str:
    while e.__cause__ is not None:
        e = e.__cause__
    return " ".join(str(e).strip().splitlines()[:3])[:500]
