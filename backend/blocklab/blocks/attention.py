"""Attention: MultiheadAttention and the Transformer encoder and decoder layers, torch's own
modules (batch first), so the state_dict keys are torch's: `in_proj_weight` (query, key and
value projections fused, [3 * embed_dim, embed_dim]), `in_proj_bias`, `out_proj.*`.

Sequences are per sample [length, features]. `causal` masks each position from the ones
after it (nn.Transformer.generate_square_subsequent_mask), as a language model's decoder.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from blocklab.blocks.base import BlockType, In, Params, Port, Shape, ShapeError, call, fmt, infer_size, need_rank
from blocklab.blocks.sizes import INFERRED, Size

HEADS = "attention heads; embed_dim must be a multiple"
CAUSAL = "mask later positions (query length must equal key length)"


def _mask(length: str, like: str) -> str:
    """Source of the [L, L] causal mask (-inf above the diagonal), on the input's device."""
    return f"nn.Transformer.generate_square_subsequent_mask({length}, device={like}.device)"


def _heads(d: int, heads: int, field: str) -> None:
    if d % heads:
        raise ShapeError(f"has {field}={heads}, which does not divide the model size {d}", field)


def _attn_shapes(prefix: str, e: int, kdim: int, vdim: int, bias: bool) -> dict[str, Shape]:
    """nn.MultiheadAttention's parameters, in its registration order."""
    if kdim == e and vdim == e:  # one fused projection for query, key and value
        out: dict[str, Shape] = {f"{prefix}in_proj_weight": (3 * e, e)}
    else:
        out = {f"{prefix}q_proj_weight": (e, e), f"{prefix}k_proj_weight": (e, kdim), f"{prefix}v_proj_weight": (e, vdim)}
    if bias:
        out[f"{prefix}in_proj_bias"] = (3 * e,)
    out[f"{prefix}out_proj.weight"] = (e, e)
    return out | ({f"{prefix}out_proj.bias": (e,)} if bias else {})


def _attn_values(batch: int, lq: int, lk: int, e: int, heads: int) -> int:
    """What one attention keeps for the backward pass: the projected query, key and value, the
    [heads, Lq, Lk] scores and their softmax, and the heads' joined output. The scores grow with
    the square of the length: a long sequence is refused by the memory estimate, not allocated."""
    return batch * (2 * lq * e + 2 * lk * e + 2 * heads * lq * lk)


def _layer_values(batch: int, length: int, d: int, ff: int) -> int:
    # The feed-forward net's [L, ff] (linear1, activation, dropout) and the residuals and norms.
    return batch * (3 * length * ff + 6 * length * d)


# ---------------------------------------------------------------- MultiheadAttention
class MHAP(Params):
    embed_dim: Size | None = Field(None, description=INFERRED + " (from the query)")
    num_heads: int = Field(2, ge=1, le=1024, description=HEADS)
    dropout: float = Field(0.0, ge=0, lt=1, description="on the attention weights")
    bias: bool = True
    kdim: Size | None = Field(None, description=INFERRED + " (from the key)")
    vdim: Size | None = Field(None, description=INFERRED + " (from the value)")
    causal: bool = Field(False, description=CAUSAL)


def _mha(p: MHAP, ins: dict[str, In]):
    q = ins["query"]
    k = ins.get("key", q)  # self-attention: key and value default to the query
    v = ins.get("value", k)
    for port, x in (("query", q), ("key", k), ("value", v)):
        need_rank(x, 2, f"[length, features] on port '{port}'")
    p = infer_size(p, "embed_dim", q.shape[-1], q, "query features")
    p = infer_size(p, "kdim", k.shape[-1], k, "key features")
    p = infer_size(p, "vdim", v.shape[-1], v, "value features")
    _heads(p.embed_dim, p.num_heads, "num_heads")
    if k.shape[0] != v.shape[0]:
        raise ShapeError(
            f"needs as many keys as values, but receives {fmt(k.shape)} from '{k.src}' and {fmt(v.shape)} from '{v.src}'",
            "value",
        )
    if p.causal and q.shape[0] != k.shape[0]:
        raise ShapeError(f"is causal, so the query length {q.shape[0]} must equal the key length {k.shape[0]}", "causal")
    return p, (q.shape[0], p.embed_dim)


def _mha_forward(p: MHAP, a: dict[str, str], m: str | None) -> str:
    q = a["query"]
    k = a.get("key", q)
    v = a.get("value", k)
    mask = f", attn_mask={_mask(f'{q}.shape[1]', q)}" if p.causal else ""
    # (output, weights)[0]: [B, L_query, embed_dim]
    return f"{m}({q}, {k}, {v}{mask}, need_weights=False)[0]"


MHA = BlockType(
    "MultiheadAttention", "layers",
    "Scaled dot-product attention with num_heads heads: query [Lq, E], key and value [Lk, ...] -> [Lq, E].",
    _mha, MHAP, ports=(Port("query"), Port("key", optional=True), Port("value", optional=True)),
    sample={"query": (5, 8), "key": (6, 8), "value": (6, 8)},
    module=lambda p: call(
        "nn.MultiheadAttention", p.embed_dim, p.num_heads, dropout=p.dropout, bias=p.bias, kdim=p.kdim, vdim=p.vdim,
        batch_first=True,
    ),
    forward=_mha_forward,
    workspace=lambda p, ins, b: _attn_values(b, ins["query"][0], ins.get("key", ins["query"])[0], p.embed_dim,
                                             p.num_heads),
    param_shapes=lambda p: _attn_shapes("", p.embed_dim, p.kdim, p.vdim, p.bias),
    parameter_names=("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"),
)


# ---------------------------------------------------------------- Transformer layers
class LayerP(Params):
    d_model: Size | None = Field(None, description=INFERRED)
    nhead: int = Field(2, ge=1, le=1024, description=HEADS.replace("embed_dim", "d_model"))
    dim_feedforward: Size = 2048
    dropout: float = Field(0.1, ge=0, lt=1)
    activation: Literal["relu", "gelu"] = "relu"
    layer_norm_eps: float = Field(1e-5, gt=0, le=1)
    norm_first: bool = Field(False, description="pre-norm (LayerNorm before attention and feed-forward)")
    bias: bool = True
    causal: bool = Field(False, description=CAUSAL.split(" (")[0])


def _layer_shapes(p: LayerP, attns: tuple[str, ...], norms: int) -> dict[str, Shape]:
    d, f, b = p.d_model, p.dim_feedforward, p.bias
    out: dict[str, Shape] = {}
    for a in attns:
        out |= _attn_shapes(f"{a}.", d, d, d, b)
    out |= {"linear1.weight": (f, d), **({"linear1.bias": (f,)} if b else {})}
    out |= {"linear2.weight": (d, f), **({"linear2.bias": (d,)} if b else {})}
    for i in range(1, norms + 1):
        out |= {f"norm{i}.weight": (d,), **({f"norm{i}.bias": (d,)} if b else {})}
    return out


def _layer_infer(p: LayerP, ins: dict[str, In]):
    x = ins["x"]
    need_rank(x, 2, "[length, features]")
    p = infer_size(p, "d_model", x.shape[-1], x, "features")
    _heads(p.d_model, p.nhead, "nhead")
    mem = ins.get("memory")
    if mem is not None:
        need_rank(mem, 2, "[length, features] on port 'memory'")
        if mem.shape[-1] != p.d_model:
            raise ShapeError(f"expects memory with d_model={p.d_model} features but receives {fmt(mem.shape)} "
                             f"from '{mem.src}'", "memory")
    return p, x.shape


def _layer_ctor(name: str):
    return lambda p: call(
        f"nn.{name}", p.d_model, p.nhead, dim_feedforward=p.dim_feedforward, dropout=p.dropout,
        activation=p.activation, layer_norm_eps=p.layer_norm_eps, batch_first=True, norm_first=p.norm_first,
        bias=p.bias,
    )


def _encoder_forward(p: LayerP, a: dict[str, str], m: str | None) -> str:
    x = a["x"]
    return f"{m}({x}, src_mask={_mask(f'{x}.shape[1]', x)}, is_causal=True)" if p.causal else f"{m}({x})"


def _decoder_forward(p: LayerP, a: dict[str, str], m: str | None) -> str:
    x, mem = a["x"], a["memory"]
    if p.causal:
        return f"{m}({x}, {mem}, tgt_mask={_mask(f'{x}.shape[1]', x)}, tgt_is_causal=True)"
    return f"{m}({x}, {mem})"


ENCODER = BlockType(
    "TransformerEncoderLayer", "layers",
    "Self-attention then a feed-forward net, each with a residual and LayerNorm: [L, d_model] -> [L, d_model].",
    _layer_infer, LayerP, sample={"x": (5, 8)}, module=_layer_ctor("TransformerEncoderLayer"), forward=_encoder_forward,
    workspace=lambda p, ins, b: (_attn_values(b, ins["x"][0], ins["x"][0], p.d_model, p.nhead)
                                 + _layer_values(b, ins["x"][0], p.d_model, p.dim_feedforward)),
    param_shapes=lambda p: _layer_shapes(p, ("self_attn",), 2),
    parameter_names=("self_attn.in_proj_weight", "self_attn.out_proj.weight", "linear1.weight", "linear2.weight"),
)

DECODER = BlockType(
    "TransformerDecoderLayer", "layers",
    "Self-attention on x, attention to the encoder's memory, then a feed-forward net: [L, d_model] -> [L, d_model].",
    _layer_infer, LayerP, ports=(Port("x"), Port("memory")), sample={"x": (5, 8), "memory": (6, 8)},
    module=_layer_ctor("TransformerDecoderLayer"), forward=_decoder_forward,
    workspace=lambda p, ins, b: (_attn_values(b, ins["x"][0], ins["x"][0], p.d_model, p.nhead)
                                 + _attn_values(b, ins["x"][0], ins["memory"][0], p.d_model, p.nhead)
                                 + _layer_values(b, ins["x"][0], p.d_model, p.dim_feedforward)),
    param_shapes=lambda p: _layer_shapes(p, ("self_attn", "multihead_attn"), 3),
    parameter_names=("self_attn.in_proj_weight", "multihead_attn.in_proj_weight", "linear1.weight", "linear2.weight"),
)

BLOCKS = [MHA, ENCODER, DECODER]
