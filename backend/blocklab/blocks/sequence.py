"""Sequences: Embedding (integer indices) and the recurrent layers RNN, LSTM and GRU (batch first).

A recurrent block has several outputs: the sequence, h_n (and c_n for an LSTM). An edge
names the one it takes in `source_port`; an edge without one takes what `returns` picks.
States, in and out, are per sample and batch first, [num_layers * directions, hidden]; the
optional ports h0 (and c0 for an LSTM) take the initial state, so an encoder's h_n feeds a
decoder's h0."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from blocklab.blocks.base import BlockType, Outputs, Params, Port, Shape, ShapeError, call, fmt, infer_size, need_rank
from blocklab.blocks.sizes import INFERRED, Size


class EmbeddingP(Params):
    num_embeddings: Size = 1000
    embedding_dim: Size = 64
    padding_idx: int | None = Field(None, ge=0)


def _embedding(p: EmbeddingP, ins):
    if p.padding_idx is not None and p.padding_idx >= p.num_embeddings:
        raise ShapeError(f"has padding_idx={p.padding_idx}, not below num_embeddings={p.num_embeddings}", "padding_idx")
    return p, ins["x"].shape + (p.embedding_dim,)


FINAL = {"h0": "h_n", "c0": "c_n"}  # initial-state input port -> the final-state output it matches
RETURNS = "sequence: [length, hidden * directions]; h_n: the final hidden state [num_layers * directions, hidden]"


class RNNP(Params):
    input_size: Size | None = Field(None, description=INFERRED)
    hidden_size: Size = 64
    num_layers: int = Field(1, ge=1, le=16)
    bias: bool = True
    dropout: float = Field(0.0, ge=0, lt=1, description="between stacked layers")
    bidirectional: bool = False
    returns: Literal["sequence", "h_n"] = Field("sequence", description=RETURNS)


class LSTMP(RNNP):
    returns: Literal["sequence", "h_n", "c_n"] = Field("sequence", description=RETURNS + "; c_n: the final cell state")


class ElmanP(RNNP):
    nonlinearity: Literal["tanh", "relu"] = "tanh"


def _state(p: RNNP) -> Shape:
    """A state per sample, batch first: torch's [num_layers * directions, B, hidden] is [B, ...] here."""
    return (p.num_layers * (2 if p.bidirectional else 1), p.hidden_size)


def _rnn(p: RNNP, ins, states: tuple[str, ...]):
    x = ins["x"]
    need_rank(x, 2, "[sequence length, features]")
    p = infer_size(p, "input_size", x.shape[-1], x, "input features")
    if p.dropout and p.num_layers == 1:
        raise ShapeError("has dropout, which applies between stacked layers; set num_layers >= 2 or dropout 0", "dropout")
    for port in states:
        s = ins.get(port)
        if s is not None and s.shape != _state(p):
            raise ShapeError(
                f"expects its initial state '{port}' as [num_layers * directions, hidden_size] = {fmt(_state(p))} "
                f"but receives {fmt(s.shape)} from '{s.src}'", port,
            )
    if 0 < len(set(states) & set(ins)) < len(states):  # an LSTM's (h0, c0) go together
        missing = next(k for k in states if k not in ins)
        raise ShapeError(f"has one initial state of two; connect '{missing}' too, or neither", missing)
    return p, _rnn_shapes(p, ins, states)[p.returns]


def _rnn_call(p: RNNP, a: dict[str, str], m: str | None, states: tuple[str, ...]) -> str:
    """torch's (output, h_n) or (output, (h_n, c_n)); states in and out are [layers * directions, B, hidden],
    so the given ones are transposed from batch first."""
    given = [f"{a[k]}.transpose(0, 1).contiguous()" for k in states if k in a]
    hx = ", ".join(given) if len(given) < 2 else f"({', '.join(given)})"
    return f"{m}({', '.join([a['x'], hx] if hx else [a['x']])})"


def _rnn_pick(result: str, port: str, states: tuple[str, ...]) -> str:
    if port == "sequence":  # [B, L, hidden * directions]
        return f"{result}[0]"
    if len(states) == 2:  # an LSTM: (output, (h_n, c_n)); a state back to batch first
        return f"{result}[1][{('h_n', 'c_n').index(port)}].transpose(0, 1)"
    return f"{result}[1].transpose(0, 1)"


def _rnn_shapes(p: RNNP, ins, states: tuple[str, ...]) -> dict[str, Shape]:
    seq = (ins["x"].shape[0], p.hidden_size * (2 if p.bidirectional else 1))
    return {"sequence": seq, **{FINAL[s]: _state(p) for s in states}}


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


def _rnn_block(name: str, gates: int, params: type[RNNP], states: tuple[str, ...], doc: str) -> BlockType:
    extra = (lambda p: {"nonlinearity": p.nonlinearity}) if params is ElmanP else (lambda p: {})
    return BlockType(
        name, "layers", doc, lambda p, ins: _rnn(p, ins, states), params, ports=(Port("x"), *(Port(s, optional=True) for s in states)),
        sample={"x": (7, 8), **{s: (1, 64) for s in states}},
        module=lambda p: call(
            f"nn.{name}", p.input_size, p.hidden_size, num_layers=p.num_layers, **extra(p), bias=p.bias,
            batch_first=True, dropout=p.dropout, bidirectional=p.bidirectional,
        ),
        forward=lambda p, a, m: _rnn_pick(_rnn_call(p, a, m, states), p.returns, states),
        outputs=Outputs(("sequence", *(FINAL[s] for s in states)),
                        shapes=lambda p, ins: _rnn_shapes(p, ins, states), call=lambda p, a, m: _rnn_call(p, a, m, states),
                        pick=lambda p, result, port: _rnn_pick(result, port, states)),
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
    _rnn_block("RNN", 1, ElmanP, ("h0",),
               "Elman RNN, tanh(x W_ih + h W_hh), over [length, features]; the sequence or the final state h_n."),
    _rnn_block("LSTM", 4, LSTMP, ("h0", "c0"),
               "Long short-term memory over [length, features]; the whole sequence or the final state h_n / c_n."),
    _rnn_block("GRU", 3, RNNP, ("h0",),
               "Gated recurrent unit over [length, features]; the whole sequence or the final state h_n."),
]
