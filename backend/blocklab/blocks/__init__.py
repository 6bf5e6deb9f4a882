"""The block registry: the only place a block type is defined.

REGISTRY maps a type name to its BlockType. Validation, code generation (and so the
builder and the exporter) and GET /api/blocks all read it. Imports run one way: blocks use
the CustomLayer language (blocklab.custom), which knows nothing of blocks.
"""

from __future__ import annotations

from blocklab.blocks import activations, combine, custom, io, layers
from blocklab.blocks.base import BlockType

REGISTRY: dict[str, BlockType] = {}


def register(block: BlockType) -> BlockType:
    if block.name in REGISTRY:
        raise ValueError(f"block type {block.name!r} registered twice")
    REGISTRY[block.name] = block
    return block


for _module in (io, layers, activations, combine, custom):
    for _block in _module.BLOCKS:
        register(_block)
