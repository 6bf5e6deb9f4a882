"""Layers with parameters or a fixed structure, in catalog order: Linear here, then
convolutions, pooling, reshaping, indexing, norms, embeddings, recurrent layers and attention; then
more spatial layers, norms and activations (one module each).
Input sizes left out are inferred from the incoming shape."""

from __future__ import annotations

from pydantic import Field

from blocklab.blocks.activations_extra import BLOCKS as ACTIVATIONS_EXTRA
from blocklab.blocks.attention import BLOCKS as ATTENTION
from blocklab.blocks.base import BlockType, Params, Shape, call, infer_size
from blocklab.blocks.conv import BLOCKS as CONVS
from blocklab.blocks.indexing import BLOCKS as INDEXING
from blocklab.blocks.norms import BLOCKS as NORMS
from blocklab.blocks.norms_extra import BLOCKS as NORMS_EXTRA
from blocklab.blocks.pooling import BLOCKS as POOLS
from blocklab.blocks.reshape import BLOCKS as RESHAPES
from blocklab.blocks.sequence import BLOCKS as SEQUENCE
from blocklab.blocks.spatial import BLOCKS as SPATIAL
from blocklab.blocks.sizes import INFERRED, Size


# ---------------------------------------------------------------- Linear
class LinearP(Params):
    in_features: Size | None = Field(None, description=INFERRED)
    out_features: Size = 64
    bias: bool = True


def _linear(p: LinearP, ins):
    x = ins["x"]
    p = infer_size(p, "in_features", x.shape[-1], x, "input features")
    return p, x.shape[:-1] + (p.out_features,)


def _linear_params(p: LinearP) -> dict[str, Shape]:
    s = {"weight": (p.out_features, p.in_features)}
    return s | {"bias": (p.out_features,)} if p.bias else s


LINEAR = BlockType(
    "Linear", "layers", "y = x W^T + b: a fully connected (dense) layer on the last dim.",
    _linear, LinearP,
    module=lambda p: call("nn.Linear", p.in_features, p.out_features, bias=p.bias),
    param_shapes=_linear_params, parameter_names=("weight", "bias"),
)


BLOCKS = [LINEAR, *CONVS, *POOLS, *RESHAPES, *INDEXING, *NORMS, *SEQUENCE, *ATTENTION, *SPATIAL, *NORMS_EXTRA,
          *ACTIVATIONS_EXTRA]
