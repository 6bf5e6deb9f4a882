"""Sum/Mean whose dims name one dim twice ([2, -2] on a [3, 4, 5] sample) reduce it once,
as the shape rule already said, instead of building a model torch refuses to run (found by
the random-graph property test)."""

from __future__ import annotations

import torch

from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from graphs import chain


def test_a_dim_named_twice_is_reduced_once():
    doc = GraphDoc.model_validate(chain([3, 4, 5], ("m", "Mean", {"dims": [2, -2]}), ("s", "Sum", {"dims": [1, 1]})))
    x = torch.randn(2, 3, 4, 5)
    assert torch.allclose(build(doc)(x), x.mean(dim=2).sum(dim=1))  # [2, 5]
