"""Sequences: Embedding (integer indices) and the recurrent layers LSTM and GRU (batch first)."""

from __future__ import annotations

from pydantic import Field

from blocklab.blocks.base import BlockType, Params, Shape, ShapeError, call, infer_size, need_rank
from blocklab.blocks.sizes import INFERRED, Size


class EmbeddingP(Params):
    num_embeddings: Size = 1000
    embedding_dim: Size = 64
    padding_idx: int | None = Field(None, ge=0)


def _embedding(p: EmbeddingP, ins):
    if p.padding_idx is not None and p.padding_idx >= p.num_embeddings:
        raise ShapeError(f"has padding_idx={p.padding_idx}, not below num_embeddings={p.num_embeddings}", "padding_idx")
    return p, ins["x"].shape + (p.embedding_dim,)


class RNNP(Params):
    input_size: Size | None = Field(None, description=INFERRED)
    hidden_size: Size = 64
    num_layers: int = Field(1, ge=1, le=16)
    bias: bool = True
    dropout: float = Field(0.0, ge=0, lt=1, description="between stacked layers")
    bidirectional: bool = False


def _rnn(p: RNNP, ins):
    x = ins["x"]
    need_rank(x, 2, "[sequence length, features]")
    p = infer_size(p, "input_size", x.shape[-1], x, "input features")
    if p.dropout and p.num_layers == 1:
        raise ShapeError("has dropout, which applies between stacked layers; set num_layers >= 2 or dropout 0", "dropout")
    return p, (x.shape[0], p.hidden_size * (2 if p.bidirectional else 1))


def _rnn_params(gates: int):
    def shapes(p: RNNP) -> dict[str, Shape]:
        h, dirs = p.hidden_size, 2 if p.bidirectional else 1
        out: dict[str, Shape] = {}
        for layer in range(p.num_layers):
            n_in = p.input_size if layer == 0 else h * dirs
            for sfx in ("", "_reverse")[:dirs]:
                out[f"weight_ih_l{layer}{sfx}"] = (gates * h, n_in)
                out[f"weight_hh_l{layer}{sfx}"] = (gates * h, h)
                if p.bias:
                    out[f"bias_ih_l{layer}{sfx}"] = (gates * h,)
                    out[f"bias_hh_l{layer}{sfx}"] = (gates * h,)
        return out

    return shapes


def _rnn_block(name: str, gates: int, doc: str) -> BlockType:
    return BlockType(
        name, "layers", doc, _rnn, RNNP, sample={"x": (7, 8)},
        module=lambda p: call(
            f"nn.{name}", p.input_size, p.hidden_size, num_layers=p.num_layers, bias=p.bias, batch_first=True,
            dropout=p.dropout, bidirectional=p.bidirectional,
        ),
        # (output sequence, final state)[0]: [B, L, hidden * directions]
        forward=lambda p, a, m: f"{m}({a['x']})[0]",
        param_shapes=_rnn_params(gates), parameter_names=("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
    )


BLOCKS = [
    BlockType(
        "Embedding", "layers", "Looks up a learned vector for each integer index: [L] -> [L, embedding_dim].",
        _embedding, EmbeddingP, sample={"x": (7,)}, takes_indices=True,
        module=lambda p: call("nn.Embedding", p.num_embeddings, p.embedding_dim, padding_idx=p.padding_idx),
        forward=lambda p, a, m: f"{m}({a['x']}.long())",
        param_shapes=lambda p: {"weight": (p.num_embeddings, p.embedding_dim)}, parameter_names=("weight",),
    ),
    _rnn_block("LSTM", 4, "Long short-term memory over [length, features]; outputs the whole sequence."),
    _rnn_block("GRU", 3, "Gated recurrent unit over [length, features]; outputs the whole sequence."),
]
