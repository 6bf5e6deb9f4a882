"""Where an ONNX node came from, as torch.onnx.export (dynamo) records it in the node's
metadata: `namespace` = ": pkg.Net/encoder.layers.0: torch.nn.modules.transformer.
TransformerEncoderLayer/encoder.layers.0.self_attn: ...MultiheadAttention/transpose: aten..."
(one "path: class" per enclosing module). An operator that maps to no block is reported
with the module it belongs to, and the block that module is, so a user knows what to do.
"""

from __future__ import annotations

from blocklab.importers.layers import module_blocks


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def where(node) -> str:
    """' (in encoder.layers.0, a torch.nn.TransformerEncoderLayer: ...)' or '' without metadata."""
    meta = {p.key: p.value for p in node.metadata_props}
    parts = meta.get("namespace", "").split("/")[1:-1]  # the root module first, the op itself last
    scopes = [tuple(s.split(": ", 1)) for s in parts if ": " in s]
    if not scopes:
        return ""
    blocks = {_qualified(c): b.name for c, b in module_blocks().items()}
    for path, cls in scopes:  # the outermost module that is a registry layer: the unit a user knows
        if cls in blocks:
            return (f" (in {path}, a torch.nn.{cls.rpartition('.')[2]}: `blocklab import` on the PyTorch module "
                    f"maps it to the {blocks[cls]} block)")
    path, cls = scopes[-1]
    return f" (in {path}, a {cls})"


def module_path(node, block: str) -> str:
    """The path of the innermost module of class torch.nn.<block> the node came from ('' if none)."""
    meta = {p.key: p.value for p in node.metadata_props}
    for part in reversed(meta.get("namespace", "").split("/")):
        path, _, cls = part.partition(": ")
        if cls.endswith(f".{block}"):
            return path
    return ""
