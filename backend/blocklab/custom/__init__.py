"""Code in blocks: the CustomLayer's small, safe expression language.

text --parse.py--> allow-listed tree (tree.py, language.py) --emit.py--> plain torch source
                                                            --trace.py--> shapes on meta tensors

User text is never evaluated: `parse` accepts only the node kinds, names and methods listed
in `language`, and `emit` writes source from that tree alone (torch names from the tables,
validated identifiers, repr'd numbers).
"""

# The block registry imports custom.block; loading the registry first makes any import order
# work (importing blocklab.custom.block directly would otherwise find BLOCKS half-defined).
import blocklab.blocks  # noqa: E402,F401
