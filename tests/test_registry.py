"""One test over the whole registry: every shape rule against a real forward pass, the
parameter rule against the real module, and the export round trip (torch is the reference)."""

from __future__ import annotations

import random

import pytest
import torch

from blocklab.blocks import REGISTRY
from blocklab.graph.analyze import analyze
from blocklab.graph.build import build, source_for
from blocklab.graph.document import GraphDoc
from graphs import load_exported

BATCH = 3


def single_block_doc(type_name: str, params: dict, inputs: dict[str, tuple]) -> GraphDoc:
    nodes = [{"id": f"in_{p}", "type": "Input", "params": {"shape": list(s)}} for p, s in inputs.items()]
    nodes += [{"id": "blk", "type": type_name, "params": params}, {"id": "Y", "type": "Output"}]
    edges = [{"source": f"in_{p}", "target": "blk", "target_port": p} for p in inputs]
    edges.append({"source": "blk", "target": "Y"})
    return GraphDoc.model_validate({"nodes": nodes, "edges": edges})


def sample_inputs(inputs: dict[str, tuple]) -> list[torch.Tensor]:
    # Values in [0, 1): valid for every block, Embedding included (indices become 0).
    return [torch.rand(BATCH, *s) for s in inputs.values()]


def check_block(type_name: str, params: dict, inputs: dict[str, tuple]) -> None:
    doc = single_block_doc(type_name, params, inputs)
    analysis = analyze(doc)
    assert analysis.ok, [e.to_json() for e in analysis.errors]
    node = analysis.root.nodes["blk"]
    torch.manual_seed(0)
    model = build(doc).eval()
    xs = sample_inputs(inputs)
    with torch.no_grad():
        y = model(*xs)
    # The shape rule, computed without tensors, equals the real forward pass.
    assert tuple(y.shape) == (BATCH, *node.shape), (type_name, params, inputs)
    # The parameter rule equals the real module's parameters, name by name.
    real = {k.removeprefix("blk."): tuple(v.shape) for k, v in model.named_parameters()}
    assert real == dict(node.kind.param_shapes(node.params))
    assert analysis.root.n_params == sum(p.numel() for p in model.parameters())
    # Export round trip: the standalone source has the same keys and, loaded with the
    # built weights, gives the same outputs.
    Exported = load_exported(source_for(doc))
    exported = Exported().eval()
    assert list(exported.state_dict()) == list(model.state_dict())
    exported.load_state_dict(model.state_dict(), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(exported(*xs), y)
    if node.kind.outputs is not None:
        check_outputs(type_name, params, inputs)


def check_outputs(type_name: str, params: dict, inputs: dict[str, tuple]) -> None:
    """A block with several outputs, each taken by an edge naming it (`source_port`) to an Output
    of its own, beside the default one: the shapes the analysis gives are torch's, and the
    export computes what the built model does."""
    doc = single_block_doc(type_name, params, inputs).model_dump(exclude_none=True)
    names = REGISTRY[type_name].outputs.names
    doc["nodes"] += [{"id": f"Y_{k}", "type": "Output"} for k in names]
    doc["edges"] += [{"source": "blk", "source_port": k, "target": f"Y_{k}"} for k in names]
    doc = GraphDoc.model_validate(doc)
    analysis = analyze(doc)
    assert analysis.ok, [e.to_json() for e in analysis.errors]
    node = analysis.root.nodes["blk"]
    assert set(node.out_shapes) == set(names) and node.shape == node.out_shapes[getattr(node.params, node.kind.outputs.param)]
    torch.manual_seed(0)
    model = build(doc).eval()
    xs = sample_inputs(inputs)
    with torch.no_grad():
        ys = model(*xs)
    assert [tuple(y.shape[1:]) for y in ys] == [node.shape, *(node.out_shapes[k] for k in names)]
    exported = load_exported(source_for(doc))().eval()
    exported.load_state_dict(model.state_dict(), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(exported(*xs), ys)


BLOCK_TYPES = [name for name, b in REGISTRY.items() if b.end is None]


@pytest.mark.parametrize("type_name", BLOCK_TYPES)
def test_block_matches_torch(type_name):
    block = REGISTRY[type_name]
    check_block(type_name, {}, block.sample)


def test_every_block_has_a_sample_and_doc():
    for b in REGISTRY.values():
        assert b.doc and "\n" not in b.doc, b.name
        assert set(b.sample) <= {p.name for p in b.ports} | ({"x"} if b.role == "input" else set()), b.name


def test_every_block_has_its_role():
    roles = {name: b.role for name, b in REGISTRY.items()}
    assert (roles.pop("Input"), roles.pop("Output"), roles.pop("CustomLayer")) == ("input", "output", "custom")
    assert set(roles.values()) == {"layer"}


def test_catalog_serves_roles_and_ui_hints(client):
    blocks = {b["type"]: b for b in client.get("/api/blocks").json()}
    assert {t: b["role"] for t, b in blocks.items()} == {t: b.role for t, b in REGISTRY.items()}
    props = blocks["CustomLayer"]["params_schema"]["properties"]
    assert props["expr"]["format"] == "code"
    assert (props["parameters"]["x-state-keys"], props["constants"]["x-state-keys"]) == ("parameter", "buffer")


# torch's own modules and functions, built from the same params (input sizes from the sample):
# whatever torch accepts the shape rule must accept with the same output shape, and whatever
# torch refuses it must refuse with an error on the block.
def _ref_module(cls, in_size=None):
    return lambda p, xs: cls(*([xs[0].shape[1]] if in_size == "channels" else []), **p)(xs[0])


def _rnn(cls):
    return lambda p, xs: cls(xs[0].shape[-1], **p, batch_first=True)(xs[0])[0]


TORCH_REFS = {
    "Conv2d": _ref_module(torch.nn.Conv2d, "channels"), "Conv1d": _ref_module(torch.nn.Conv1d, "channels"),
    "ConvTranspose2d": _ref_module(torch.nn.ConvTranspose2d, "channels"),
    "MaxPool2d": _ref_module(torch.nn.MaxPool2d), "AvgPool2d": _ref_module(torch.nn.AvgPool2d),
    "AdaptiveAvgPool2d": _ref_module(torch.nn.AdaptiveAvgPool2d), "Flatten": _ref_module(torch.nn.Flatten),
    "LayerNorm": _ref_module(torch.nn.LayerNorm), "BatchNorm1d": _ref_module(torch.nn.BatchNorm1d, "channels"),
    "LSTM": _rnn(torch.nn.LSTM), "GRU": _rnn(torch.nn.GRU),
    "Concat": lambda p, xs: torch.cat(xs, dim=p["dim"]),
    "Sum": lambda p, xs: torch.sum(xs[0], dim=p["dims"], keepdim=p["keepdim"]),
    "Reshape": lambda p, xs: xs[0].reshape(xs[0].shape[0], *p["shape"]),
    "MatMul": lambda p, xs: xs[0] @ xs[1],
}


def torch_output_shape(type_name: str, params: dict, inputs: dict[str, tuple]) -> tuple | None:
    """The per-sample output shape torch gives, or None when torch refuses the input."""
    try:
        with torch.no_grad():
            return tuple(TORCH_REFS[type_name](params, sample_inputs(inputs)).shape[1:])
    except (RuntimeError, ValueError, TypeError, IndexError):
        return None


# Shape rules with less common params, drawn at random but reproducibly, plus inputs torch
# refuses (kernels larger than their input, mismatched sizes).
def _random_cases(seed: int, n: int):
    rng = random.Random(seed)
    cases = [
        ("Conv2d", {"out_channels": 2, "kernel_size": 5}, {"x": (1, 3, 3)}),
        ("Conv1d", {"out_channels": 2, "kernel_size": 3, "dilation": 3}, {"x": (1, 6)}),
        ("MaxPool2d", {"kernel_size": 4}, {"x": (1, 3, 3)}),
        ("MaxPool2d", {"kernel_size": 2, "padding": 2}, {"x": (1, 6, 6)}),
        ("MaxPool2d", {"kernel_size": 2, "padding": 1}, {"x": (1, 5, 5)}),  # padding may be half the kernel
        ("Concat", {"dim": 1}, {"a": (2, 3), "b": (2, 4)}),
        ("MatMul", {}, {"a": (2, 3, 4), "b": (2, 5, 5)}),
        ("Reshape", {"shape": [7, -1]}, {"x": (2, 5)}),
        ("LayerNorm", {"normalized_shape": [3]}, {"x": (2, 4)}),
    ]
    for _ in range(n):
        k, s, p, d = rng.randint(1, 4), rng.randint(1, 3), rng.randint(0, 2), rng.randint(1, 2)
        hw = (rng.randint(4, 12), rng.randint(4, 12))
        cases += [
            ("Conv2d", {"out_channels": rng.randint(1, 6), "kernel_size": [k, rng.randint(1, 3)], "stride": s,
                        "padding": p, "dilation": d}, {"x": (2, *hw)}),
            ("Conv1d", {"out_channels": 4, "kernel_size": k, "stride": s, "padding": p, "dilation": d}, {"x": (2, hw[0])}),
            ("ConvTranspose2d", {"out_channels": 3, "kernel_size": k, "stride": s, "padding": p,
                                 "output_padding": rng.randint(0, s - 1)}, {"x": (2, *hw)}),
            ("MaxPool2d", {"kernel_size": k, "stride": s, "padding": min(p, k // 2), "ceil_mode": rng.random() < 0.5},
             {"x": (2, *hw)}),
            ("AvgPool2d", {"kernel_size": k, "stride": s, "padding": min(p, k // 2), "ceil_mode": rng.random() < 0.5},
             {"x": (2, *hw)}),
            ("AdaptiveAvgPool2d", {"output_size": [rng.randint(1, 4), rng.randint(1, 4)]}, {"x": (2, *hw)}),
            ("Flatten", {"start_dim": rng.randint(1, 2), "end_dim": rng.choice([-1, 3])}, {"x": (2, *hw)}),
            ("Concat", {"dim": rng.choice([1, 2, -1])}, {"a": (2, 3, 4), "b": (2, 3, 4)}),
            ("Sum", {"dims": [rng.choice([1, 2, -1])], "keepdim": rng.random() < 0.5}, {"x": (2, 3, 4)}),
            ("LSTM", {"hidden_size": 5, "num_layers": 2, "bidirectional": True, "dropout": 0.1}, {"x": (6, 4)}),
            ("GRU", {"hidden_size": 3, "bias": False}, {"x": (6, 4)}),
            ("LayerNorm", {"normalized_shape": [3, 4], "bias": False}, {"x": (2, 3, 4)}),
            ("BatchNorm1d", {"affine": False}, {"x": (4, 7)}),
            ("Reshape", {"shape": [hw[0], -1]}, {"x": (2, *hw)}),
            ("MatMul", {}, {"a": (2, 3, 4), "b": (1, 4, 5)}),
        ]
    return cases


CASES = _random_cases(seed=7, n=3)


def test_variants_cover_both_answers():
    # The cases must exercise both: inputs torch accepts and inputs it refuses.
    answers = {torch_output_shape(*c) is None for c in CASES}
    assert answers == {True, False}


@pytest.mark.parametrize("type_name,params,inputs", CASES)
def test_shape_rule_variants_match_torch(type_name, params, inputs):
    want = torch_output_shape(type_name, params, inputs)
    analysis = analyze(single_block_doc(type_name, params, inputs))
    if want is None:  # torch refuses: an explained error on the block, not a crash
        assert not analysis.ok
        assert [e.to_json()["node"] for e in analysis.errors] == ["blk"]
        assert all(e.message.startswith(f"{type_name} 'blk' ") for e in analysis.errors)
    else:  # torch accepts: so must the shape rule, with torch's shape
        assert analysis.ok, [e.to_json() for e in analysis.errors]
        assert analysis.root.nodes["blk"].shape == want
        check_block(type_name, params, inputs)
