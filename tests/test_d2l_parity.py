"""D2L's "layers and blocks" designs against the hand-written classes from the book:
the built state_dict loads strict into the reference and gives the same outputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from blocklab.graph.analyze import analyze
from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from graphs import template
from import_models import NestMLP  # D2L 6.1.3


class MLP(nn.Module):  # D2L 6.1
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, X):
        return self.out(F.relu(self.hidden(X)))


def sequential():
    return nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))


class FixedHiddenMLP(nn.Module):  # D2L 6.1.3
    def __init__(self):
        super().__init__()
        self.rand_weight = torch.rand((20, 20))  # a constant: not a parameter
        self.linear = nn.Linear(20, 20)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)  # the same layer again: shared parameters
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()


def tied():
    shared = nn.Linear(8, 8)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))


def rgnet():
    def block1():
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())

    def block2():
        net = nn.Sequential()
        for i in range(4):
            # D2L names these 'block {i}'; node ids cannot hold spaces, so the design uses block{i}.
            net.add_module(f"block{i}", block1())
        return net

    return nn.Sequential(block2(), nn.Linear(4, 1))


CASES = [
    ("d2l_mlp", MLP, (2, 20)),
    ("d2l_sequential", sequential, (2, 20)),
    ("d2l_nestmlp", NestMLP, (2, 20)),
    ("d2l_tied", tied, (2, 4)),
    ("d2l_rgnet", rgnet, (2, 4)),
]


@pytest.mark.parametrize("tid,reference,x_shape", CASES)
def test_design_matches_hand_written(tid, reference, x_shape):
    torch.manual_seed(0)
    built = build(GraphDoc.model_validate(template(tid)))
    ref = reference()
    assert list(built.state_dict()) == list(ref.state_dict())
    ref.load_state_dict(built.state_dict(), strict=True)
    X = torch.rand(*x_shape)
    torch.testing.assert_close(built(X), ref(X))
    # ...and the other way round.
    torch.manual_seed(1)
    ref2 = reference()
    built.load_state_dict(ref2.state_dict(), strict=True)
    torch.testing.assert_close(built(X), ref2(X))


def _same_constant(ours: nn.Module, ref: nn.Module) -> None:
    """rand_weight is made afresh by each build (a plain attribute in D2L, a non-persistent
    buffer here): neither state_dict carries it, so give both the same draw."""
    for name, buf in ours.named_buffers():
        if name.endswith("rand_weight"):
            owner = ref.get_submodule(name.rsplit(".", 2)[0]) if name.count(".") > 1 else ref
            buf.copy_(owner.rand_weight)


@pytest.mark.parametrize("tid,reference", [
    ("d2l_fixedhidden", FixedHiddenMLP),
    ("d2l_chimera", lambda: nn.Sequential(NestMLP(), nn.Linear(16, 20), FixedHiddenMLP())),
])
def test_fixed_hidden_designs_load_d2l_strict_both_ways(tid, reference):
    """FixedHiddenMLP calls self.linear twice: one linear.* in its state_dict, and rand_weight
    is no key at all. The design (linear2 `calls` linear, rand_weight persistent=false) has
    exactly D2L's keys, in D2L's order; D2L returns X.sum() over the batch, we one sum per sample."""
    torch.manual_seed(0)
    ours = build(GraphDoc.model_validate(template(tid)))
    ref = reference()
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert len(ours.state_dict()) == (2 if tid == "d2l_fixedhidden" else 10)
    _same_constant(ours, ref)
    X = torch.rand(2, 20)
    ref.load_state_dict(ours.state_dict(), strict=True)
    torch.testing.assert_close(ours(X).sum(), ref(X), atol=1e-6, rtol=1e-6)
    torch.manual_seed(1)
    ref2 = reference()
    ours.load_state_dict(ref2.state_dict(), strict=True)
    _same_constant(ours, ref2)
    torch.testing.assert_close(ours(X).sum(), ref2(X), atol=1e-6, rtol=1e-6)


def test_non_persistent_constant_moves_with_to_but_is_not_saved():
    ours = build(GraphDoc.model_validate(template("d2l_fixedhidden")))
    assert "hidden.rand_weight" not in ours.state_dict()
    assert [n for n, _ in ours.named_buffers()] == ["hidden.rand_weight"]
    assert ours.to(torch.float64).hidden.rand_weight.dtype == torch.float64
    assert [n for n, _ in ours.named_parameters()] == ["linear.weight", "linear.bias"]
    assert not hasattr(ours, "linear2")  # called again: no attribute of its own
    root = analyze(GraphDoc.model_validate(template("d2l_fixedhidden"))).root
    assert (root.n_params, root.n_buffers) == (20 * 20 + 20, 20 * 20)  # the limits still count the constant
    # Not saved, so a model rebuilt to load a checkpoint must draw the same: a fixed seed, whatever torch's.
    torch.manual_seed(5)
    again = build(GraphDoc.model_validate(template("d2l_fixedhidden")))
    again.load_state_dict(ours.state_dict(), strict=True)
    X = torch.rand(3, 20)
    torch.testing.assert_close(again(X), ours.float()(X))


def test_tied_layers_share_one_module_and_gradient():
    built = build(GraphDoc.model_validate(template("d2l_tied")))
    assert getattr(built, "2") is getattr(built, "4")
    assert built.state_dict()["2.weight"].data_ptr() == built.state_dict()["4.weight"].data_ptr()
    # As in D2L: changing one changes the other, and the gradient is the sum of both uses.
    getattr(built, "2").weight.data[0, 0] = 100
    assert getattr(built, "4").weight[0, 0] == 100
    built(torch.rand(2, 4)).sum().backward()
    assert getattr(built, "4").weight.grad is getattr(built, "2").weight.grad
    assert sum(p.numel() for p in built.parameters()) == 121


def test_init_and_trainable_are_applied():
    doc = template("d2l_mlp")
    doc["nodes"][1]["init"] = {"weight": {"fn": "constant", "val": 0.5}, "bias": {"fn": "zeros"}}
    doc["nodes"][3]["init"] = {"weight": {"fn": "xavier_uniform"}}
    doc["nodes"][3]["trainable"] = False
    m = build(GraphDoc.model_validate(doc))
    assert torch.all(m.hidden.weight == 0.5) and torch.all(m.hidden.bias == 0)
    bound = (6 / (256 + 10)) ** 0.5  # xavier_uniform's bound for a 10 x 256 matrix
    assert m.out.weight.abs().max() <= bound
    assert not m.out.weight.requires_grad and not m.out.bias.requires_grad
    assert m.hidden.weight.requires_grad


def test_normal_init_statistics():
    doc = template("d2l_mlp")
    doc["nodes"][1]["init"] = {"weight": {"fn": "normal", "mean": 0, "std": 0.01}}
    torch.manual_seed(0)
    w = build(GraphDoc.model_validate(doc)).hidden.weight
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.01) < 1e-3


def test_nested_blocks_are_reusable_with_separate_weights():
    m = build(GraphDoc.model_validate(template("resnet_digits")))
    assert type(m.res1) is type(m.res2) and m.res1 is not m.res2
    assert not torch.equal(m.res1.conv1.weight, m.res2.conv1.weight)
    assert m(torch.rand(5, 1, 8, 8)).shape == (5, 10)
