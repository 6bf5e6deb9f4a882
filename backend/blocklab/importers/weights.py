"""A module's own weights, keyed for the Model exported from its imported design.

The importer keeps every submodule's name, so the keys are the original ones. The one
addition: a layer called twice (FixedHiddenMLP's `self.linear`) is one node plus a node
that `shares` it, and the exported Model lists a shared module under both ids (CONTRACT
section 1), so the alias keys are filled from the same tensors.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc


def weights_for(doc: dict, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`state_dict` with the alias keys the design's Model also expects."""
    with torch.device("meta"):
        model = build(GraphDoc.model_validate(doc))
    names: dict[int, list[str]] = {}
    for name, m in model.named_modules(remove_duplicate=False):
        names.setdefault(id(m), []).append(name)
    group = {name: g for g in names.values() for name in g}  # module name -> every name of that module
    out = dict(state_dict)
    for key in model.state_dict():
        prefix, _, leaf = key.rpartition(".")
        src = next((f"{g}.{leaf}" for g in group.get(prefix, ()) if f"{g}.{leaf}" in state_dict), None)
        if key not in out and src is not None:
            out[key] = state_dict[src]
    return out


def save_weights(path: Path, doc: dict, module: nn.Module) -> int:
    """Write the module's weights as safetensors for `init_weights`; returns the tensor count."""
    sd = weights_for(doc, module.state_dict())
    # Tied tensors share storage, which safetensors refuses: one copy each (as checkpoints do).
    save_file({k: v.detach().to("cpu", copy=True).contiguous() for k, v in sd.items()}, str(path))
    return len(sd)
