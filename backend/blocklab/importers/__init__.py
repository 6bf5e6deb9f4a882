"""Bring existing models in: PyTorch modules (torch.fx, on the user's machine) and ONNX files."""

from blocklab.importers.pytorch import NotImportable, from_module
from blocklab.importers.weights import save_weights, weights_for

__all__ = ["NotImportable", "from_module", "save_weights", "weights_for"]
