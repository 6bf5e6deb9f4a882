"""Design -> .onnx bytes, with torch.onnx.export's dynamo exporter (torch.export, then
onnxscript's translation; the TorchScript exporter is deprecated in torch 2.13 and would
silently unroll a CustomLayer's while loop for the one example input).

The batch dim is dynamic ("batch"), the inputs and outputs are named after the design's
Input and Output nodes. A CustomLayer whose while/if depends on tensor values is exported
with that control flow as graph operators (ONNX Loop and If, importers.onnx_flow), so the
file computes what the PyTorch model computes for every input, not the one path the
example input took.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading

import torch

from torch import nn

from blocklab.blocks.custom import CustomP
from blocklab.graph.types import Analysis, Scope
from blocklab.importers.onnx_flow import NoGraphFlow, bind, has_flow
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


def _control_flow(scope: Scope, path: str = "") -> list[tuple[str, CustomP]]:
    """Every CustomLayer (as 'inst.inner') whose expr has a while or if, with its params."""
    found = []
    for n in scope.nodes.values():
        if n.scope is not None:
            found += _control_flow(n.scope, f"{path}{n.id}.")
        elif isinstance(n.params, CustomP) and has_flow(n.params):
            found.append((path + n.id, n.params))
    return found


def _graph_flow(model: nn.Module, root: Scope) -> None:
    """Give each looping CustomLayer's module its forward with while_loop / torch.cond."""
    for path, p in _control_flow(root):
        try:
            bind(model.get_submodule(path), p)
        except NoGraphFlow as e:
            raise ExportFailed(f"CustomLayer '{path}' cannot be exported: {e}", path.split(".")[0]) from None


def to_onnx(analysis: Analysis, name: str, state: dict[str, torch.Tensor] | None = None) -> bytes:
    """The .onnx file of a valid analysis, with `state` loaded (strict) or fresh weights."""
    require("onnx", "onnxscript")
    root = analysis.root
    torch.manual_seed(0)
    model = model_class(generate(analysis, name))()
    if state is not None:
        model.load_state_dict(state, strict=True)  # RuntimeError: the caller's 422
    model.eval()
    _graph_flow(model, root)
    ids = list(root.inputs)
    examples = tuple(torch.rand(2, *root.nodes[i].shape) for i in ids)  # in [0, 1): valid Embedding indices too
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    outputs = [root.nodes[o].id for o in root.outputs]
    with _lock, contextlib.redirect_stdout(io.StringIO()), torch.no_grad():  # the exporter prints its progress
        try:
            program_ = _export(model, examples, input_names=ids, output_names=outputs,
                               dynamic_shapes=tuple({0: batch} for _ in ids), verbose=False, report=False)
        except Exception as e:  # torch.export's own explanation, first lines
            raise ExportFailed(f"torch.onnx.export failed: {_first_lines(e)}") from None
    return program_.model_proto.SerializeToString()


@functools.lru_cache(maxsize=1)
def _registry():
    """torchlib's aten -> ONNX translations for OPSET. torch.onnx.export builds this table anew
    on every call, which is most of the time a small design's export takes; it never changes."""
    from torch.onnx._internal.exporter import _registration

    return _registration.ONNXRegistry.from_torchlib(opset_version=OPSET)


def _export(model: nn.Module, examples: tuple, **kw):
    """torch.onnx.export(model, examples, dynamo=True, opset_version=OPSET, **kw), with the table built once."""
    try:
        from torch.onnx._internal.exporter import _core

        registry = _registry()
    except (ImportError, AttributeError):  # another torch: the public call, which builds the table itself
        return torch.onnx.export(model, examples, dynamo=True, opset_version=OPSET, **kw)
    return _core.export(model, examples, registry=registry, opset_version=OPSET, **kw)


def _first_lines(e: BaseException) -> str:
    while e.__cause__ is not None:
        e = e.__cause__
    return " ".join(str(e).strip().splitlines()[:3])[:500]
