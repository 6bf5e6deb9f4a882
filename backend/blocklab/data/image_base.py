"""What the image parsers share: their limits, their error, and what they give back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Color = Literal["auto", "gray", "rgb"]


@dataclass(frozen=True)
class Limits:
    max_entries: int = 200_000  # zip entries, images or not
    max_images: int = 100_000
    max_expanded: int = 512 * 1024**2  # bytes the zip (or .npz) declares once decompressed
    max_file: int = 32 * 1024**2  # bytes of one image file, decompressed
    max_pixels: int = 25_000_000  # of one image, read from its header before decoding
    max_side: int = 512  # of the stored images
    max_stored: int = 256 * 1024**2  # bytes of the stored array


LIMITS = Limits()
MIN_SAMPLES = 4


class ImageError(ValueError):
    """An upload that cannot become a dataset: `field` is the form field at fault; status 413
    when a limit on size is passed, else 422."""

    def __init__(self, message: str, field: str = "file", status: int = 422):
        super().__init__(message)
        self.field, self.status = field, status


@dataclass
class Parsed:
    """What a parser gives: all samples, the first n_train of them for training (None: split
    by the dataset's val_fraction at load time)."""

    x: np.ndarray  # uint8 [N, C, H, W] (pixels, scaled by 1/255 on load) or float32 [N, ...]
    y: np.ndarray  # int64 [N] class indices or float32 [N, k]
    task: Literal["classification", "regression"]
    classes: list[str] | None
    n_train: int | None
    source: str
    skipped: int = 0


def check_stored(x: np.ndarray, limits: Limits) -> None:
    if x.nbytes > limits.max_stored:
        raise ImageError(f"the dataset would take {x.nbytes:,} bytes ({list(x.shape)}, {x.dtype}); the limit is "
                         f"{limits.max_stored:,}: use a smaller size or fewer images", "size", 413)


