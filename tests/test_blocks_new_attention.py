"""MultiheadAttention and the Transformer layers against torch's own modules.

The state_dict keys are torch's, in torch's order (so a torch checkpoint loads strict), and
with the same weights every output equals the module's, causal masks included.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from blocklab.graph.analyze import analyze
from blocklab.graph.build import build, source_for
from test_registry import check_block, single_block_doc

B, E = 3, 8


def _same_weights(model: nn.Module, ref: nn.Module) -> nn.Module:
    own = model.state_dict()
    assert list(own) == [f"blk.{k}" for k in ref.state_dict()]  # torch's keys, in torch's order
    ref.load_state_dict({k.removeprefix("blk."): v for k, v in own.items()}, strict=True)
    return ref.eval()


def _mask(n: int) -> torch.Tensor:
    return nn.Transformer.generate_square_subsequent_mask(n)


@pytest.mark.parametrize("ports,params", [
    ({"query": (5, E)}, {}),  # self-attention: key and value are the query
    ({"query": (5, E)}, {"causal": True, "num_heads": 4}),
    ({"query": (5, E), "key": (7, E)}, {"bias": False}),  # value defaults to the key
    ({"query": (5, E), "key": (7, E), "value": (7, E)}, {"num_heads": 1}),
    ({"query": (5, E), "key": (7, 3), "value": (7, 6)}, {}),  # kdim, vdim: separate projections
])
def test_attention_matches_torch(ports, params):
    doc = single_block_doc("MultiheadAttention", params, ports)
    check_block("MultiheadAttention", params, ports)
    rep = analyze(doc)
    assert rep.root.nodes["blk"].shape == (5, E)
    kdim, vdim = (ports.get("key", (0, E))[1], ports.get("value", ports.get("key", (0, E)))[1])
    ref = nn.MultiheadAttention(E, params.get("num_heads", 2), bias=params.get("bias", True), kdim=kdim, vdim=vdim,
                                batch_first=True)
    model = build(doc).eval()
    ref = _same_weights(model, ref)
    xs = [torch.randn(B, *s) for s in ports.values()]
    q = xs[0]
    k = xs[1] if len(xs) > 1 else q
    v = xs[2] if len(xs) > 2 else k
    mask = _mask(5) if params.get("causal") else None
    with torch.no_grad():
        torch.testing.assert_close(model(*xs), ref(q, k, v, attn_mask=mask)[0])
    assert ("blk.in_proj_weight" in model.state_dict()) == (kdim == E and vdim == E)


@pytest.mark.parametrize("params", [
    {}, {"causal": True}, {"norm_first": True, "activation": "gelu", "nhead": 4},
    {"bias": False, "dim_feedforward": 16}, {"layer_norm_eps": 1e-3, "dropout": 0.0},
])
@pytest.mark.parametrize("kind", ["TransformerEncoderLayer", "TransformerDecoderLayer"])
def test_transformer_layers_match_torch(kind, params):
    ports = {"x": (5, E), **({"memory": (6, E)} if kind == "TransformerDecoderLayer" else {})}
    check_block(kind, params, ports)
    doc = single_block_doc(kind, params, ports)
    cls = getattr(nn, kind)
    kw = {k: v for k, v in params.items() if k != "causal"}
    model = build(doc).eval()
    ref = _same_weights(model, cls(E, kw.pop("nhead", 2), batch_first=True, **kw))
    xs = [torch.randn(B, *s) for s in ports.values()]
    causal = params.get("causal", False)
    with torch.no_grad():
        if kind == "TransformerEncoderLayer":
            want = ref(xs[0], src_mask=_mask(5), is_causal=True) if causal else ref(xs[0])
        else:
            want = ref(xs[0], xs[1], tgt_mask=_mask(5), tgt_is_causal=True) if causal else ref(xs[0], xs[1])
        torch.testing.assert_close(model(*xs), want)


def test_encoder_layer_counts_torch_parameters():
    rep = analyze(single_block_doc("TransformerEncoderLayer", {"nhead": 8, "dim_feedforward": 2048}, {"x": (10, 512)}))
    ref = nn.TransformerEncoderLayer(512, 8, batch_first=True)
    assert rep.root.n_params == sum(p.numel() for p in ref.parameters()) == 3_152_384


@pytest.mark.parametrize("kind,params,ports,field", [
    ("MultiheadAttention", {"num_heads": 3}, {"query": (5, E)}, "num_heads"),
    ("MultiheadAttention", {}, {"query": (5, E), "key": (7, E), "value": (6, E)}, "value"),
    ("MultiheadAttention", {"causal": True}, {"query": (5, E), "key": (7, E)}, "causal"),
    ("MultiheadAttention", {"embed_dim": 6}, {"query": (5, E)}, "embed_dim"),
    ("MultiheadAttention", {}, {"query": (E,)}, None),
    ("TransformerEncoderLayer", {"nhead": 5}, {"x": (5, E)}, "nhead"),
    ("TransformerDecoderLayer", {}, {"x": (5, E), "memory": (6, 4)}, "memory"),
])
def test_bad_attention_inputs_name_the_field(kind, params, ports, field):
    rep = analyze(single_block_doc(kind, params, ports))
    errs = [e.to_json() for e in rep.errors]
    assert [(e["node"], e["field"]) for e in errs] == [("blk", field)], errs
    assert errs[0]["message"].startswith(f"{kind} 'blk' ")


def test_exported_attention_reads_as_torch():
    src = source_for(single_block_doc("MultiheadAttention", {"causal": True}, {"query": (5, E)}))
    assert "self.blk = nn.MultiheadAttention(8, 2, dropout=0.0, bias=True, kdim=8, vdim=8, batch_first=True)" in src
    assert ("blk = self.blk(in_query, in_query, in_query, attn_mask=nn.Transformer.generate_square_subsequent_mask("
            "in_query.shape[1], device=in_query.device), need_weights=False)[0]  # [B, 5, 8]") in src


class HandWrittenTransformerDigits(nn.Module):
    """The transformer_digits template written in torch: rows as a sequence [B, 8, 8]."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(8, 32)
        self.position = nn.Module()
        self.position.pos = nn.Parameter(torch.zeros(8, 32))
        self.encoder1 = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
        self.encoder2 = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
        self.classifier = nn.Linear(32, 10)

    def forward(self, x):  # [B, 1, 8, 8]
        h = self.embed(x.reshape(x.shape[0], 8, 8)) + self.position.pos  # [B, 8, 32]
        return self.classifier(self.encoder2(self.encoder1(h)).mean(dim=1))  # [B, 10]


def test_transformer_template_loads_the_hand_written_model_strict():
    from blocklab.graph.document import GraphDoc
    from graphs import load_exported, template

    doc = GraphDoc.model_validate(template("transformer_digits"))
    exported = load_exported(source_for(doc))().eval()
    ref = HandWrittenTransformerDigits().eval()
    torch.nn.init.normal_(ref.position.pos)
    assert list(exported.state_dict()) == list(ref.state_dict())
    exported.load_state_dict(ref.state_dict(), strict=True)
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(exported(x), ref(x))


@pytest.mark.parametrize("kind,ports", [
    ("MultiheadAttention", {"query": (40_000, E)}),
    ("TransformerEncoderLayer", {"x": (40_000, E)}),
    ("TransformerDecoderLayer", {"x": (40_000, E), "memory": (8, E)}),
])
def test_long_sequences_are_refused_by_the_memory_estimate(kind, ports):
    # 40,000 positions: [2 heads, 40,000, 40,000] scores are 3.2e9 values (12 GiB) per sample, over
    # the 8 GiB a design may need at a batch of 1; the output itself is only 320,000 values.
    rep = analyze(single_block_doc(kind, {}, ports))
    errs = [e.to_json() for e in rep.errors]
    assert len(errs) == 1 and "BLOCKLAB_MAX_TRAIN_BYTES" in errs[0]["message"] and "blk" in errs[0]["message"], errs
    short = {p: (400, s[1]) for p, s in ports.items()}  # 100 times shorter: 10,000 times fewer scores
    assert analyze(single_block_doc(kind, {}, short)).ok
