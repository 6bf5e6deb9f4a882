"""Models written the way their users write them, for the import tests (`blocklab import
tests/import_models.py:ResNet18 --input-shape 3,64,64`): plain torch, no torchvision, no
Blocklab. Each one's own state_dict must load strictly into the imported design's Model."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class LeNet(nn.Module):
    """LeCun et al. 1998, as D2L 7.6 writes it: sigmoid and average pooling, x [B, 1, 28, 28]."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.avg_pool2d(torch.sigmoid(self.conv1(x)), 2)  # [B, 6, 14, 14]
        x = F.avg_pool2d(torch.sigmoid(self.conv2(x)), 2)  # [B, 16, 5, 5]
        x = x.view(x.size(0), -1)  # [B, 400]
        x = torch.sigmoid(self.fc1(x))
        x = torch.sigmoid(self.fc2(x))
        return self.fc3(x)


class BasicBlock(nn.Module):
    """He et al. 2015, figure 2: two 3x3 convolutions and the shortcut (a 1x1 projection where
    the size changes, option B). Attribute names as torchvision's, so its checkpoints fit."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet18(nn.Module):
    """He et al. 2015, table 1, the 18-layer column: a 7x7/2 stem, 3x3/2 max pool, four stages
    of two BasicBlocks (64, 128, 256, 512 channels; width scales them), global average pool."""

    def __init__(self, num_classes: int = 1000, width: int = 64, in_channels: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        planes = [width, 2 * width, 4 * width, 8 * width]
        self.layer1 = nn.Sequential(BasicBlock(width, planes[0]), BasicBlock(planes[0], planes[0]))
        self.layer2 = nn.Sequential(BasicBlock(planes[0], planes[1], 2), BasicBlock(planes[1], planes[1]))
        self.layer3 = nn.Sequential(BasicBlock(planes[1], planes[2], 2), BasicBlock(planes[2], planes[2]))
        self.layer4 = nn.Sequential(BasicBlock(planes[2], planes[3], 2), BasicBlock(planes[3], planes[3]))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(planes[3], num_classes)

    def forward(self, x):  # [B, in_channels, H, W]
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # [B, w, H/4, W/4]
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # [B, 8w, H/32, W/32]
        return self.fc(torch.flatten(self.avgpool(x), 1))


class LearnedPosition(nn.Module):
    """A learned position embedding added to each sequence: x [B, L, d] + pos [L, d]."""

    def __init__(self, length: int, d_model: int):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(length, d_model) * 0.02)

    def forward(self, x):
        return x + self.pos


class TinyTransformer(nn.Module):
    """A small Transformer encoder classifier on token ids [B, L]: embedding, learned position,
    torch's own nn.TransformerEncoder (batch first), mean over positions, a linear head."""

    def __init__(self, vocab: int = 50, length: int = 12, d_model: int = 16, nhead: int = 4, layers: int = 2,
                 num_classes: int = 5):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.position = LearnedPosition(length, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=32, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, tokens):
        h = self.encoder(self.position(self.embed(tokens)))  # [B, L, d_model]
        return self.head(h.mean(dim=1))


class NestMLP(nn.Module):
    """D2L 6.1.3: a Sequential inside a module."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
        self.linear = nn.Linear(32, 16)

    def forward(self, X):
        return self.linear(self.net(X))
