"""The templates that show block args off (VGG's vgg_block with a repeat, a seq2seq GRU
encoder-decoder), each against the same network written in torch, plus a few training steps."""

from __future__ import annotations

import pytest
import torch
from blocklab.graph.build import build, source_for
from blocklab.graph.document import GraphDoc
from graphs import load_exported, template
from torch import nn


class ConvReLU(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x))


class VggBlock(nn.Module):  # D2L's vgg_block(num_convs, out_channels), with named parts
    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        self.convs = nn.Sequential(*[ConvReLU(in_channels if i == 0 else out_channels, out_channels)
                                     for i in range(num_convs)])
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)

    def forward(self, x):
        return self.pool(self.convs(x))


class VGG(nn.Module):
    def __init__(self, arch=((1, 16), (1, 32), (2, 64)), num_classes=10):
        super().__init__()
        c = 1
        for k, (n, out) in enumerate(arch):
            setattr(self, f"b{k + 1}", VggBlock(n, c, out))
            c = out
        self.flatten = nn.Flatten()
        self.fc1, self.relu, self.drop, self.fc2 = nn.Linear(c, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10)

    def forward(self, x):
        x = self.flatten(self.b3(self.b2(self.b1(x))))
        return self.fc2(self.drop(self.relu(self.fc1(x))))


class Seq2Seq(nn.Module):
    """Encoder GRU over the top four rows; its final state starts the decoder over the bottom four."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.GRU(8, 64, batch_first=True)
        self.decoder = nn.GRU(8, 64, batch_first=True)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        rows = x.reshape(-1, 8, 8)
        _, h = self.encoder(rows[:, :4])
        _, h = self.decoder(rows[:, 4:], h)
        return self.out(h[0])


@pytest.mark.parametrize("tid,reference", [("vgg_digits", VGG), ("seq2seq_gru", Seq2Seq)])
def test_template_matches_torch_and_trains(tid, reference):
    doc = GraphDoc.model_validate(template(tid))
    torch.manual_seed(0)
    built = build(doc)
    ref = reference()
    assert list(built.state_dict()) == list(ref.state_dict())
    ref.load_state_dict(built.state_dict(), strict=True)
    exported = load_exported(source_for(doc))()
    exported.load_state_dict(ref.state_dict(), strict=True)
    X = torch.rand(4, 1, 8, 8)
    for m in (built, ref, exported):
        m.eval()
    with torch.no_grad():
        torch.testing.assert_close(built(X), ref(X))
        torch.testing.assert_close(exported(X), ref(X))
    # A few steps on a fixed batch: the loss goes down.
    built.train()
    y = torch.arange(4) % 10
    opt = torch.optim.Adam(built.parameters(), lr=0.01)
    losses = []
    for _ in range(8):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(built(X), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_vgg_block_is_one_class_with_a_repeat_over_its_arg():
    src = source_for(GraphDoc.model_validate(template("vgg_digits")))
    assert src.count("class vgg_block(") == 1 and src.count("class ConvReLU(") == 1
    assert "def __init__(self, num_convs=1, out_channels=64, in_channels=None):" in src
    assert ("nn.Sequential(*[ConvReLU(out_channels=out_channels, in_channels=(in_channels if i == 0 else out_channels)) "
            "for i in range(num_convs)])") in src
    # The exported class is a real generic class: another size works straight away.
    Model = load_exported(src)
    ns = Model.__init__.__globals__
    block = ns["vgg_block"](num_convs=3, out_channels=8, in_channels=2)
    assert len(block.convs) == 3 and block(torch.rand(1, 2, 4, 4)).shape == (1, 8, 2, 2)
