"""Conv3d, 1-d pooling, AdaptiveMaxPool2d, Upsample, ZeroPad2d, Unflatten, GroupNorm,
InstanceNorm2d, PReLU and Dropout2d against torch's modules built from the same params, on
random params: whatever torch accepts, the shape rule accepts with torch's shape (and the
built and exported models agree, parameter names included); whatever torch refuses is an
error on the block."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from blocklab.graph.analyze import analyze
from test_registry import check_block, single_block_doc


def _with_channels(cls):
    return lambda p, x: cls(x.shape[1], **p)(x)


REFS = {
    "Conv3d": _with_channels(nn.Conv3d),
    "MaxPool1d": lambda p, x: nn.MaxPool1d(**p)(x), "AvgPool1d": lambda p, x: nn.AvgPool1d(**p)(x),
    "AdaptiveMaxPool2d": lambda p, x: nn.AdaptiveMaxPool2d(**p)(x),
    "Upsample": lambda p, x: nn.Upsample(**p)(x),
    "ZeroPad2d": lambda p, x: nn.ZeroPad2d(**p)(x),
    "Unflatten": lambda p, x: nn.Unflatten(p["dim"], p["unflattened_size"])(x),
    "GroupNorm": lambda p, x: nn.GroupNorm(p["num_groups"], x.shape[1])(x),
    "InstanceNorm2d": _with_channels(nn.InstanceNorm2d),
    "PReLU": lambda p, x: nn.PReLU(**p)(x),
    "Dropout2d": lambda p, x: nn.Dropout2d(**p)(x),
}


def _cases(seed: int, n: int):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k, s, pad = rng.randint(1, 4), rng.randint(1, 3), rng.randint(0, 2)
        c, hw = rng.randint(1, 6), (rng.randint(2, 7), rng.randint(2, 7))
        mode = rng.choice(["nearest", "linear", "bilinear", "bicubic", "trilinear"])
        out += [
            ("Conv3d", {"out_channels": 2, "kernel_size": rng.choice([k, [k, 1, 2]]), "stride": s, "padding": pad,
                        "groups": rng.choice([1, 2])}, (2 * c, 4, *hw)),
            ("MaxPool1d", {"kernel_size": k, "stride": s, "padding": min(pad, k // 2) if rng.random() < 0.8 else pad,
                           "ceil_mode": rng.random() < 0.5}, (c, hw[0])),
            ("AvgPool1d", {"kernel_size": k, "stride": s, "padding": min(pad, k // 2), "ceil_mode": rng.random() < 0.5},
             (c, hw[0])),
            ("AdaptiveMaxPool2d", {"output_size": [rng.randint(1, 4), rng.randint(1, 4)]}, (c, *hw)),
            ("Upsample", {"scale_factor": rng.choice([0.5, 1.5, 2.0, 3.0]), "mode": mode,
                          **({"align_corners": True} if rng.random() < 0.3 else {})},
             rng.choice([(c, hw[0]), (c, *hw), (c, 2, *hw)])),
            ("ZeroPad2d", {"padding": rng.choice([pad, [pad, 0, 1, k]])}, rng.choice([(c, *hw), hw])),
            ("Unflatten", {"dim": rng.choice([1, 2, -1]), "unflattened_size": rng.choice([[2, -1], [3, 2], [-1], [2, 2, -1]])},
             (c * 2, hw[0])),
            ("GroupNorm", {"num_groups": rng.randint(1, 4)}, (c, *hw)),
            ("InstanceNorm2d", {"affine": rng.random() < 0.5, "track_running_stats": rng.random() < 0.5}, (c, *hw)),
            ("PReLU", {"num_parameters": rng.choice([1, c, c + 1])}, (c, hw[0])),
            ("Dropout2d", {"p": 0.3}, (c, *hw)),
        ]
    return out


CASES = _cases(seed=6, n=8)


def _torch_shape(type_name, params, shape):
    try:
        with torch.no_grad():
            return tuple(REFS[type_name](params, torch.rand(2, *shape)).shape[1:])
    except (RuntimeError, ValueError, TypeError, NotImplementedError):
        return None


def test_cases_cover_refusals():
    assert {_torch_shape(*c) is None for c in CASES} == {True, False}


@pytest.mark.parametrize("type_name,params,shape", CASES)
def test_layer_matches_torch(type_name, params, shape):
    want = _torch_shape(type_name, params, shape)
    rep = analyze(single_block_doc(type_name, params, {"x": shape}))
    if want is None:
        assert not rep.ok
        assert {e.to_json()["node"] for e in rep.errors} == {"blk"}
        assert all(e.message.startswith(f"{type_name} 'blk' ") for e in rep.errors)
    else:
        assert rep.ok, [e.to_json() for e in rep.errors]
        assert rep.root.nodes["blk"].shape == want
        check_block(type_name, params, {"x": shape})


@pytest.mark.parametrize("type_name,params,shape,field", [
    ("InstanceNorm2d", {}, (3, 5), None),  # torch would take [B, C, L] as one unbatched image
    ("ZeroPad2d", {}, (5,), None),  # torch would pad the batch dim
    ("Unflatten", {"dim": 0, "unflattened_size": [1, -1]}, (4,), "dim"),
    ("GroupNorm", {"num_groups": 3}, (4, 2), "num_groups"),
])
def test_refusals_where_torch_would_misread_the_batch(type_name, params, shape, field):
    errs = [e.to_json() for e in analyze(single_block_doc(type_name, params, {"x": shape})).errors]
    assert [(e["node"], e["field"]) for e in errs] == [("blk", field)], errs


def test_torch_modules_import_as_these_blocks():
    """The PyTorch importer finds each new block from its torch constructor; from_module checks
    that the design takes the module's state_dict strict and gives its outputs."""
    from blocklab.importers.pytorch import from_module

    m = nn.Sequential(nn.Conv3d(2, 4, 3), nn.SiLU(), nn.GroupNorm(2, 4), nn.Flatten(2), nn.MaxPool1d(2), nn.PReLU(4),
                      nn.Unflatten(2, (2, -1)), nn.Upsample(scale_factor=2.0), nn.ZeroPad2d((1, 0, 2, 0)),
                      nn.InstanceNorm2d(4, affine=True), nn.Dropout2d(0.2), nn.AdaptiveMaxPool2d(2), nn.Mish(),
                      nn.Hardswish(), nn.Flatten(2), nn.AvgPool1d(2))
    doc = from_module(m.eval(), torch.randn(2, 2, 5, 6, 6))  # [B, 2, 5, 6, 6] -> [B, 4, 2]
    assert [n["type"] for n in doc["nodes"][1:-1]] == [type(x).__name__ for x in m]


def test_instance_norm_refuses_one_position_per_channel_as_torch_does_in_training():
    import torch
    from torch import nn

    with pytest.raises(ValueError):  # torch: "Expected more than 1 spatial element when training"
        nn.InstanceNorm2d(3).train()(torch.rand(2, 3, 1, 1))
    errs = [e.to_json() for e in analyze(single_block_doc("InstanceNorm2d", {}, {"x": (3, 1, 1)})).errors]
    assert [(e["node"], e["field"]) for e in errs] == [("blk", "x")] and "more than one position" in errs[0]["message"]
