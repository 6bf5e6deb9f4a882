"""torch's layer stacks (nn.TransformerEncoder, nn.TransformerDecoder) as plain containers.

Their forward() checks masks, dtypes and a fast path, which torch.fx cannot trace; without
masks it runs `layers.0`, `layers.1`, ... in order and then the optional `norm`. The
importer traces this twin instead: it holds the very same layer modules under the same
names, so the composite block it becomes keeps the state_dict keys (`layers.0.self_attn.
in_proj_weight`, `norm.weight`). The import is compared with the original module afterwards
(importers.pytorch.check) like any other.
"""

from __future__ import annotations

from typing import Callable

from torch import nn


class _DecoderLayers(nn.Module):
    def forward(self, tgt, memory):  # each layer attends to the same memory
        for layer in self.children():
            tgt = layer(tgt, memory)
        return tgt


def _layers(stack: nn.Module, base: type[nn.Module], name: str) -> nn.Module:
    """`stack.layers` (a ModuleList, which has no forward) as a container that runs them in order."""
    body = type(f"{name}Layers", (base,), {})()
    for i, layer in enumerate(stack.layers):
        body.add_module(str(i), layer)
    return body


class _EncoderStack(nn.Module):
    def __init__(self, stack: nn.TransformerEncoder):
        super().__init__()
        self.layers = _layers(stack, nn.Sequential, "TransformerEncoder")
        if stack.norm is not None:
            self.norm = stack.norm

    def forward(self, src):  # [B, L, d_model]
        src = self.layers(src)
        return self.norm(src) if "norm" in self._modules else src


class _DecoderStack(nn.Module):
    def __init__(self, stack: nn.TransformerDecoder):
        super().__init__()
        self.layers = _layers(stack, _DecoderLayers, "TransformerDecoder")
        if stack.norm is not None:
            self.norm = stack.norm

    def forward(self, tgt, memory):  # [B, Lt, d_model], [B, Ls, d_model]
        tgt = self.layers(tgt, memory)
        return self.norm(tgt) if "norm" in self._modules else tgt


def _named(cls: type[nn.Module], name: str) -> Callable[[nn.Module], nn.Module]:
    twin = type(name, (cls,), {})  # the composite block is named after the torch class
    return lambda stack: twin(stack)


TWINS: dict[type[nn.Module], Callable[[nn.Module], nn.Module]] = {
    nn.TransformerEncoder: _named(_EncoderStack, "TransformerEncoder"),
    nn.TransformerDecoder: _named(_DecoderStack, "TransformerDecoder"),
}


def traceable(module: nn.Module) -> nn.Module:
    """The module fx traces in place of `module` (itself unless its exact class has a twin)."""
    twin = TWINS.get(type(module))
    return twin(module) if twin is not None else module
