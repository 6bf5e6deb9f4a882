"""Image datasets that a package ships (never downloaded): scikit-learn's 8x8 digits, as
images resized with Pillow exactly as uploaded images are (image_npz.resize)."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from blocklab.data.base import Data, DatasetKind, Info, from_numpy, stratified_order
from blocklab.data.bundled import SplitP
from blocklab.data.bundled import _load as load_bundled  # cached: read from the package once
from blocklab.data.image_npz import resize


class DigitsImagesP(SplitP):
    size: int = Field(28, ge=8, le=64, description="side of the square images (8 is the original; "
                                                   "28 fits D2L's LeNet, made for 28x28 MNIST)")


def _info(p: DigitsImagesP) -> Info:
    return Info("classification", (1, p.size, p.size), (), 10, [str(i) for i in range(10)])


def _make(p: DigitsImagesP) -> Data:
    x, y, _ = load_bundled("digits")
    # Pixels 0..16 -> uint8 0..255 [N, 1, 8, 8], resized like an upload, then scaled to [0, 1].
    img = np.rint(x.reshape(-1, 1, 8, 8) * (255 / 16)).astype(np.uint8)
    img = resize(img, (p.size, p.size))
    order, n_train = stratified_order(y, p.val_fraction, p.seed)
    return from_numpy(_info(p), img[order].astype(np.float32) / 255, y[order], n_train)


KINDS = [
    DatasetKind("digits_images", "Digits as images", "scikit-learn's 1,797 handwritten digits as grayscale "
                "images, resized with Pillow to size x size (bilinear), pixels in [0, 1].",
                DigitsImagesP, _info, _make, ("classification", "image")),
]
