"""Code in blocks: the CustomLayer's small, safe expression language.

text --parse.py--> allow-listed tree (tree.py, language.py) --emit.py--> plain torch source
                                                            --trace.py--> shapes on meta tensors

The CustomLayer block itself (params, shape rule, code hooks) is blocklab.blocks.custom; this
package knows nothing of blocks, so the two import one way only.

User text is never evaluated: `parse` accepts only the node kinds, names and methods listed
in `language`, and `emit` writes source from that tree alone (torch names from the tables,
validated identifiers, repr'd numbers).
"""
