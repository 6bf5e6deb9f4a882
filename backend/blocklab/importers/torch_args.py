"""Constructor arguments that a torch module does not keep as attributes, read back from
its parts (importers.layers reads every other block param from the attribute of the same
name). The result is still checked by rebuilding the block and comparing the two modules,
submodules included, so a reader can only make a module importable, never different.
"""

from __future__ import annotations

from typing import Any, Callable

from torch import nn


def _attention(m: nn.MultiheadAttention) -> dict[str, Any]:
    # bias=True registers in_proj_bias (and out_proj.bias); there is no `bias` attribute.
    return {"bias": m.in_proj_bias is not None}


def _layer(m: nn.TransformerEncoderLayer | nn.TransformerDecoderLayer) -> dict[str, Any]:
    act = m.activation  # F.relu / F.gelu for activation="relu" / "gelu"; a module or other callable otherwise
    return {"d_model": m.self_attn.embed_dim, "nhead": m.self_attn.num_heads, "dim_feedforward": m.linear1.out_features,
            "dropout": m.dropout.p, "activation": getattr(act, "__name__", repr(act)), "layer_norm_eps": m.norm1.eps,
            "bias": m.linear1.bias is not None}


READERS: dict[type[nn.Module], Callable[[nn.Module], dict[str, Any]]] = {
    nn.MultiheadAttention: _attention,
    nn.TransformerEncoderLayer: _layer,
    nn.TransformerDecoderLayer: _layer,
}


def constructor_args(module: nn.Module) -> dict[str, Any]:
    """The arguments READERS recovers for this module's exact class ({} for the rest)."""
    reader = READERS.get(type(module))
    return reader(module) if reader is not None else {}


# Keyword arguments of a layer's call that change nothing in the output its block gives
# (output 0): MultiheadAttention(q, k, v, need_weights=False)[0] is the block's own call.
CALL_KEYWORDS: dict[type[nn.Module], frozenset[str]] = {
    nn.MultiheadAttention: frozenset({"need_weights", "average_attn_weights"}),
}


def harmless_keywords(module: nn.Module, kwargs: dict[str, Any]) -> bool:
    allowed = CALL_KEYWORDS.get(type(module), frozenset())
    return all(k in allowed and isinstance(v, bool) for k, v in kwargs.items())


def takes_state(module: nn.Module) -> bool:
    """torch's RNN, LSTM and GRU take their initial state batch-second, [layers, B, H], where the
    blocks' h0/c0 ports take [B, layers, H]: `h0.transpose(0, 1)` feeding them is that convention."""
    return isinstance(module, nn.RNNBase)
