"""The decision grid for 2-D classification data: the model's class probabilities on a
size x size lattice covering the training points (plus a margin), for the browser to draw
the decision boundary."""

from __future__ import annotations

import torch
from torch import nn

from blocklab.train.losses import Loss


class DecisionGrid:
    def __init__(self, x_train: torch.Tensor, size: int):
        lo, hi = x_train.min(0).values, x_train.max(0).values
        pad = (hi - lo).clamp_min(1e-3) * 0.1
        lo, hi = (lo - pad).tolist(), (hi + pad).tolist()
        self.x_range, self.y_range, self.size = [lo[0], hi[0]], [lo[1], hi[1]], size
        xs = torch.linspace(lo[0], hi[0], size, device=x_train.device)
        ys = torch.linspace(lo[1], hi[1], size, device=x_train.device)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")  # row i = y_range[0] + i * dy
        self.points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # [size*size, 2]

    @torch.no_grad()
    def run(self, model: nn.Module, loss: Loss) -> dict:
        was = model.training
        model.eval()
        try:
            p = loss.proba(model(self.points))  # [S*S, C]
        finally:
            model.train(was)
        best, cls = p.max(1)
        values = p[:, 1] if p.shape[1] == 2 else best  # two classes: P(class 1); else P(predicted class)
        s = self.size
        v = [round(a, 3) for a in values.float().tolist()]
        c = cls.tolist()
        return {
            "x_range": self.x_range, "y_range": self.y_range, "size": s,
            "values": [v[i * s:(i + 1) * s] for i in range(s)],
            "classes": [c[i * s:(i + 1) * s] for i in range(s)],
        }
