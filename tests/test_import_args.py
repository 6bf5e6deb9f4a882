"""PyTorch import (issue 15, item 1): the instances of one class that differ become ONE block
definition with arguments (params that differ) and `when` (a node some instances lack, as
torchvision's `downsample = None`), used several times; the module's own state_dict still
loads strictly and torch (the original module) is the reference."""

from __future__ import annotations

import json

import torch
from blocklab.importers.fx_import import Context, Scope
from blocklab.importers.fx_merge import merge_reused
from test_import_models import original
from test_import_pytorch import _roundtrip
from torch import nn


def _defs(doc: dict, cls: str) -> list[str]:
    return [k for k in doc["blocks"] if k == cls or k.startswith(f"{cls}_")]


def test_resnet18_has_one_basic_block_with_args():
    module = original("ResNet18")  # quarter width, trained-looking BatchNorm statistics
    doc = _roundtrip(module, torch.randn(2, 3, 64, 64))  # strict state_dict load, outputs within 1e-5
    assert _defs(doc, "BasicBlock") == ["BasicBlock"]
    block = doc["blocks"]["BasicBlock"]
    assert block["args"] == {"out_channels": {"type": "integer", "default": 16},
                             "stride": {"type": "integer", "default": 1},
                             "has_downsample": {"type": "boolean", "default": False}}
    nodes = {n["id"]: n for n in block["nodes"]}
    assert nodes["conv1"]["params"]["stride"] == {"expr": "stride"}
    assert nodes["conv2"]["params"]["out_channels"] == {"expr": "out_channels"}  # one arg for both convs
    assert nodes["downsample"]["when"] == "has_downsample"
    # each stage, nn.Sequential(BasicBlock, BasicBlock): one BasicBlock repeated (keys layer2.0.conv1.weight)
    stages = {n["id"]: n for n in doc["nodes"] if n["id"].startswith("layer")}
    assert {(n["type"], n["repeat"]) for n in stages.values()} == {("BasicBlock", 2)}
    assert "params" not in stages["layer1"]
    assert stages["layer3"]["params"] == {"out_channels": 64, "stride": {"expr": "2 if i == 0 else 1"},
                                          "has_downsample": {"expr": "i == 0"}}
    assert nodes["downsample"]["type"] == "Sequential"  # the projection; the stages' nn.Sequential became repeats
    assert set(doc["blocks"]) == {"BasicBlock", "Sequential"}


class Widened(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.fc, self.act = nn.Linear(8, width), nn.Tanh()
        self.out = nn.Linear(width, 8)

    def forward(self, x):  # [B, 8] -> [B, 8]
        return self.out(self.act(self.fc(x)))


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = Widened(16), Widened(32)

    def forward(self, x):
        return self.b(self.a(x))


def test_a_width_that_differs_becomes_an_arg():
    doc = _roundtrip(Twice(), torch.randn(3, 8))
    assert list(doc["blocks"]) == ["Widened"]
    block = doc["blocks"]["Widened"]
    assert block["args"] == {"out_features": {"type": "integer", "default": 16}}
    fc = next(n for n in block["nodes"] if n["id"] == "fc")
    assert fc["params"] == {"out_features": {"expr": "out_features"}}
    assert [n.get("params") for n in doc["nodes"] if n["type"] == "Widened"] == [None, {"out_features": 32}]


class Gated(nn.Module):
    """Without `gate` the add takes x where, with it, it takes gate(h): leaving `gate` out (h passing
    through in its place) would give h + h, not x + h, so the two stay two definitions."""

    def __init__(self, gate: bool):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.gate = nn.Tanh() if gate else None

    def forward(self, x):  # [B, 8]
        h = self.fc(x)
        return (self.gate(h) if self.gate is not None else x) + h


class Both(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = Gated(False), Gated(True)

    def forward(self, x):
        return self.b(self.a(x))


def test_instances_that_differ_in_wiring_stay_separate():
    x = torch.randn(3, 8)
    ctx = Context()
    assert Scope(ctx, Both(), "", (x,), root=True).build()
    assert merge_reused({"nodes": [], "edges": [], "blocks": ctx.blocks}, ctx.classes) is None  # not even tried
    doc = _roundtrip(Both(), x)
    assert sorted(doc["blocks"]) == ["Gated", "Gated_2"]
    assert all("args" not in b for b in doc["blocks"].values())
    ids = [{n["id"] for n in b["nodes"]} for b in doc["blocks"].values()]
    assert ids[0] ^ ids[1] == {"gate"}  # the same nodes but for the optional one: only the wiring differs


class Bypass(Gated):
    def forward(self, x):  # the gate's input passes through where it is absent: one definition
        h = self.fc(x)
        return (self.gate(h) if self.gate is not None else h) + h


def test_a_node_that_some_instances_lack_becomes_when():
    doc = _roundtrip(nn.Sequential(Bypass(False), Bypass(True), Bypass(False)), torch.randn(3, 8))
    assert list(doc["blocks"]) == ["Sequential", "Bypass"] or list(doc["blocks"]) == ["Bypass"]
    block = doc["blocks"]["Bypass"]
    assert block["args"] == {"has_gate": {"type": "boolean", "default": False}}
    assert next(n for n in block["nodes"] if n["id"] == "gate")["when"] == "has_gate"


class ConvReLU(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv, self.relu = nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x))


class VGGBlock(nn.Module):  # D2L 8.2: num_convs 3x3 convolutions, then a 2x2 max pool
    def __init__(self, num_convs: int, cin: int, cout: int):
        super().__init__()
        self.convs = nn.Sequential(*(ConvReLU(cin if k == 0 else cout, cout) for k in range(num_convs)))
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(self.convs(x))


def test_nested_groups_merge_inner_first():
    # [B, 1, 16, 16] -> 4 channels (1 conv) -> 8 (2 convs) -> 8 (2 convs): [B, 8, 2, 2]
    module = nn.Sequential(VGGBlock(1, 1, 4), VGGBlock(2, 4, 8), VGGBlock(2, 8, 8))
    doc = _roundtrip(module, torch.randn(2, 1, 16, 16))
    assert sorted(doc["blocks"]) == ["ConvReLU", "VGGBlock"]
    convs = next(n for n in doc["blocks"]["VGGBlock"]["nodes"] if n["id"] == "convs")
    # nn.Sequential of one or two ConvReLUs: merged, the second one had `when: has_1`, which (absent,
    # keeping its input's shape) took the first one's width; as a repeat, has_1 sets the count.
    assert convs["type"] == "ConvReLU" and convs["params"] == {"out_channels": {"expr": "out_channels"}}
    assert convs["repeat"] == {"expr": "2 if has_1 else 1"}
    assert doc["blocks"]["VGGBlock"]["args"]["has_1"] == {"type": "boolean", "default": True}
    assert [n.get("params") for n in doc["nodes"] if n["type"] == "VGGBlock"] == [
        {"out_channels": 4, "has_1": False}, None, None]


class Scaled(nn.Module):  # no layers: each instance becomes a CustomLayer of its own code
    def __init__(self, k: float):
        super().__init__()
        self.k = k

    def forward(self, x):
        return x - x.mean() * self.k  # a whole-tensor mean has no block: a CustomLayer


class Offset(nn.Module):
    def __init__(self, k: float):
        super().__init__()
        self.fc, self.scale = nn.Linear(8, 8), Scaled(k)

    def forward(self, x):
        return self.scale(self.fc(x))


def test_different_code_is_never_an_arg():
    doc = _roundtrip(nn.Sequential(Offset(2.0), Offset(3.0)), torch.randn(3, 8))
    codes = {json.dumps(n["params"]) for b in doc["blocks"].values() for n in b["nodes"] if n["type"] == "CustomLayer"}
    assert len(codes) == 2 and all("args" not in b for b in doc["blocks"].values())


class Times(nn.Module):
    def __init__(self, k: float):
        super().__init__()
        self.k = k

    def forward(self, x):  # a Scale block
        return x * self.k


class LinearTimes(nn.Module):
    def __init__(self, k: float):
        super().__init__()
        self.fc, self.times = nn.Linear(8, 8), Times(k)

    def forward(self, x):
        return self.times(self.fc(x))


def test_a_number_arg_is_passed_down_through_the_nesting():
    doc = _roundtrip(nn.Sequential(LinearTimes(2.0), LinearTimes(0.5), LinearTimes(2.0)), torch.randn(3, 8))
    assert sorted(doc["blocks"]) == ["LinearTimes", "Times"]
    assert doc["blocks"]["Times"]["args"] == {"factor": {"type": "number", "default": 2.0}}
    times = next(n for n in doc["blocks"]["LinearTimes"]["nodes"] if n["id"] == "times")
    assert times["params"] == {"factor": {"expr": "factor"}}
    assert [n.get("params") for n in doc["nodes"] if n["type"] == "LinearTimes"] == [None, {"factor": 0.5}, None]


class TwoWidths(nn.Module):
    def __init__(self, a: int, b: int):
        super().__init__()
        self.first, self.second, self.back = nn.Linear(8, a), nn.Linear(a, b), nn.Linear(b, 8)

    def forward(self, x):  # [B, 8] -> [B, a] -> [B, b] -> [B, 8]
        return self.back(torch.relu(self.second(torch.relu(self.first(x)))))


def test_args_of_one_param_name_are_named_after_their_nodes():
    doc = _roundtrip(nn.Sequential(TwoWidths(4, 6), TwoWidths(5, 6), TwoWidths(4, 7)), torch.randn(3, 8))
    assert doc["blocks"]["TwoWidths"]["args"] == {"first_out_features": {"type": "integer", "default": 4},
                                                  "second_out_features": {"type": "integer", "default": 6}}
    assert [n.get("params") for n in doc["nodes"] if n["type"] == "TwoWidths"] == [
        None, {"first_out_features": 5}, {"second_out_features": 7}]


class MaybeWider(nn.Module):
    def __init__(self, widen: bool):
        super().__init__()
        self.fc, self.head = nn.Linear(8, 8), nn.Linear(16 if widen else 8, 8)
        self.widen = nn.Linear(8, 16) if widen else None

    def forward(self, x):  # [B, 8] -> [B, 16] through `widen` where it exists -> [B, 8]
        h = self.fc(x)
        return self.head(self.widen(h) if self.widen is not None else h)


def test_a_when_the_analyser_refuses_leaves_the_definitions_apart():
    # One graph up to `widen`, but `widen` changes the shape, so it cannot be left out by a when
    # (validate: "a node that can be left out must keep its input's shape"): the import still works.
    doc = _roundtrip(nn.Sequential(MaybeWider(False), MaybeWider(True)), torch.randn(3, 8))
    assert sorted(doc["blocks"]) == ["MaybeWider", "MaybeWider_2"]


class Stack(nn.Module):
    def __init__(self, *widths: int):
        super().__init__()
        self.seq = nn.Sequential(*(Widened(w) for w in widths))

    def forward(self, x):  # [B, 8] through each Widened: [B, 8]
        return self.seq(x)


def test_a_chain_of_one_block_is_a_repeat_where_copies_after_the_first_agree():
    doc = _roundtrip(Stack(16, 32, 32), torch.randn(3, 8))
    seq = next(n for n in doc["nodes"] if n["id"] == "seq")
    assert (seq["type"], seq["repeat"]) == ("Widened", 3)
    assert seq["params"] == {"out_features": {"expr": "16 if i == 0 else 32"}}
    doc = _roundtrip(Stack(16, 32, 64), torch.randn(3, 8))  # no `i` expression for three values: as traced
    seq = next(n for n in doc["nodes"] if n["id"] == "seq")
    assert seq["type"] == "Sequential" and "repeat" not in seq
    assert [n.get("params") for n in doc["blocks"]["Sequential"]["nodes"] if n["type"] == "Widened"] == [
        None, {"out_features": 32}, {"out_features": 64}]  # a tie: the first value is the default


class Stages(nn.Module):  # ResNet-50's shape: stages of 2, 4 and 3 blocks
    def __init__(self):
        super().__init__()
        self.s1, self.s2, self.s3 = (nn.Sequential(*(Widened(16) for _ in range(k))) for k in (2, 4, 3))

    def forward(self, x):
        return self.s3(self.s2(self.s1(x)))


def test_stages_of_different_lengths_are_repeats_of_their_lengths():
    doc = _roundtrip(Stages(), torch.randn(3, 8))
    assert [(n["id"], n["type"], n.get("repeat")) for n in doc["nodes"][1:4]] == [
        ("s1", "Widened", 2), ("s2", "Widened", 4), ("s3", "Widened", 3)]
    assert list(doc["blocks"]) == ["Widened"]
