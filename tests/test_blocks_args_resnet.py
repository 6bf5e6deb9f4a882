"""ResNet-18 as one BasicBlock definition with args, `when`, `repeat` and `calls`, against
ResNet-18 written from the paper in torchvision's layout (tests/import_models.py; torchvision is not
needed): the same state_dict keys in the same order, strict loading both ways, equal
outputs, and torchvision's 11,689,512 parameters at 3x224x224 with 1000 classes."""

from __future__ import annotations

import torch
from torch import nn

from blocklab.graph.analyze import analyze
from blocklab.graph.build import build, source_for
from blocklab.graph.document import GraphDoc
from graphs import load_exported, template
from import_models import ResNet18  # written from the paper, torchvision's layout


def imagenet_doc() -> GraphDoc:
    """The resnet18 template at torchvision's size: a 3x224x224 input, 1000 classes."""
    doc = template("resnet18")
    nodes = {n["id"]: n for n in doc["nodes"]}
    nodes["x"]["params"]["shape"] = [3, 224, 224]
    nodes["fc"]["params"]["out_features"] = 1000
    return GraphDoc.model_validate(doc)


def _randomise_bn(m: nn.Module) -> None:
    """Non-trivial running statistics, so that eval-mode outputs test the BatchNorm buffers too."""
    g = torch.Generator().manual_seed(3)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.copy_(torch.randn(mod.num_features, generator=g) * 0.1)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)


def test_resnet18_is_one_block_definition_and_a_dozen_nodes():
    doc = template("resnet18")
    assert "BasicBlock" in doc["blocks"] and len(doc["nodes"]) <= 14
    a = analyze(imagenet_doc())
    assert a.ok, [e.to_json() for e in a.errors]
    assert a.root.n_params == 11_689_512
    src = source_for(imagenet_doc())
    assert src.count("class BasicBlock(") == 1 and "class BasicBlock_2" not in src  # one class, args and all
    assert "def __init__(self, channels=64, stride=1, downsample=False, in_channels=None):" in src
    assert "BasicBlock(channels=128, stride=2, downsample=True, in_channels=64)" in src


def test_torchvision_layout_loads_strict_both_ways_with_equal_outputs():
    torch.manual_seed(0)
    ours = build(imagenet_doc()).eval()
    ref = ResNet18().eval()
    assert list(ours.state_dict()) == list(ref.state_dict())  # same keys, same order
    assert sum(p.numel() for p in ours.parameters()) == 11_689_512
    _randomise_bn(ref)
    ours.load_state_dict(ref.state_dict(), strict=True)
    X = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(ours(X), ref(X), rtol=1e-4, atol=1e-4)
    torch.manual_seed(1)
    other = build(imagenet_doc())
    ref.load_state_dict(other.state_dict(), strict=True)


def test_exported_source_runs_standalone_and_matches_the_built_model():
    doc = GraphDoc.model_validate(template("resnet18"))  # 1x8x8 digits: small
    torch.manual_seed(0)
    built = build(doc).eval()
    exported = load_exported(source_for(doc))().eval()
    exported.load_state_dict(built.state_dict(), strict=True)
    assert exported.layer2[0].downsample is not None and exported.layer2[1].downsample is None
    assert exported.layer1[0].downsample is None and not hasattr(exported.layer1[0], "relu_out")
    X = torch.rand(3, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(exported(X), built(X))
    ref = ResNet18(in_channels=1, num_classes=10).eval()
    ref.load_state_dict(built.state_dict(), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(ref(X), built(X))
