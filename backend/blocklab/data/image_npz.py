"""An .npz of arrays -> a dataset: `x` and `y`, optionally `x_val`, `y_val` (the validation
split) and `classes` (label names, a string array). Read with allow_pickle=False only.

x: [N, H, W] (gray), [N, C, H, W] or [N, H, W, C] with C in 1, 3, 4 (channels first wins),
   or [N, F] features; uint8 pixels (scaled by 1/255 on load) or finite floats (kept as given).
y: integers or booleans [N] (classes) or floats [N] / [N, k] (regression targets).
Images are resized with Pillow when a size is given.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np

from blocklab.data.image_base import MIN_SAMPLES, ImageError, Limits, Parsed, check_stored

KEYS = ("x", "y", "x_val", "y_val", "classes")
CHANNELS = (1, 3, 4)


def _arrays(raw: bytes, limits: Limits) -> dict[str, np.ndarray]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise ImageError(f"the file is not a readable .npz: {e}"[:300]) from None
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > limits.max_expanded:
            raise ImageError(f"the .npz expands to {total:,} bytes; the limit is {limits.max_expanded:,}", "file", 413)
        names = [i.filename.removesuffix(".npy") for i in infos]
        unknown = [n for n in names if n not in KEYS]
        if unknown:
            raise ImageError(f"the .npz holds an array '{unknown[0][:60]}'; it may hold only {', '.join(KEYS)}")
        for need in ("x", "y"):
            if need not in names:
                raise ImageError(f"the .npz has no array '{need}'; it needs x (inputs) and y (targets)")
    out = {}
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            for k in names:
                try:
                    out[k] = z[k]
                except ValueError as e:
                    if "allow_pickle" in str(e) or "Object arrays" in str(e):
                        raise ImageError(f"array '{k}' holds Python objects (a pickle), which are never read; "
                                         "save plain numeric arrays") from None
                    raise ImageError(f"array '{k}' cannot be read: {e}"[:300]) from None
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ImageError(f"the .npz cannot be read: {e}"[:300]) from None
    return out


def _images(x: np.ndarray, key: str) -> np.ndarray:
    """x as [N, C, H, W] (images) or [N, F]; uint8 or float32."""
    if x.dtype == np.uint8:
        pass
    elif np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise ImageError(f"array '{key}' has non-finite values (NaN or inf)")
    else:
        raise ImageError(f"array '{key}' has dtype {x.dtype}; inputs must be uint8 pixels or floats")
    if x.ndim == 2:
        return x
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4:
        if x.shape[1] in CHANNELS:
            return x
        if x.shape[3] in CHANNELS:
            return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    raise ImageError(f"array '{key}' has shape {list(x.shape)}; give [N, H, W], [N, C, H, W] or [N, H, W, C] "
                     f"with C in {CHANNELS}, or [N, F]")


def resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[N, C, H, W] -> [N, C, *size], each channel through Pillow (mode L for uint8, F for floats)."""
    from PIL import Image

    if x.shape[2:] == size:
        return x
    h, w = size
    out = np.empty((*x.shape[:2], h, w), dtype=x.dtype)
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            img = Image.fromarray(x[i, c])
            out[i, c] = np.asarray(img.resize((w, h), Image.Resampling.BILINEAR))
    return out


def _targets(y: np.ndarray, key: str) -> np.ndarray:
    if y.dtype == np.bool_ or np.issubdtype(y.dtype, np.integer):
        if y.ndim != 1:
            raise ImageError(f"array '{key}' holds class labels of shape {list(y.shape)}; labels must be 1-D [N]")
        return y.astype(np.int64)
    if np.issubdtype(y.dtype, np.floating):
        if y.ndim not in (1, 2) or not np.isfinite(y).all():
            raise ImageError(f"array '{key}' must be finite regression targets of shape [N] or [N, k]")
        return y.astype(np.float32).reshape(len(y), -1)
    raise ImageError(f"array '{key}' has dtype {y.dtype}; targets are integer classes or float values")


def parse(raw: bytes, size: tuple[int, int] | None, limits: Limits) -> Parsed:
    a = _arrays(raw, limits)
    if ("x_val" in a) != ("y_val" in a):
        raise ImageError("give x_val and y_val together (the validation split), or neither")
    xs, ys = [_images(a["x"], "x")], [_targets(a["y"], "y")]
    if "x_val" in a:
        xs.append(_images(a["x_val"], "x_val"))
        ys.append(_targets(a["y_val"], "y_val"))
    for (xk, yk), x, y in zip((("x", "y"), ("x_val", "y_val")), xs, ys):
        if len(x) != len(y):
            raise ImageError(f"'{xk}' has {len(x)} samples but '{yk}' has {len(y)}; they must match", "file")
    if len(xs) == 2 and (xs[1].shape[1:] != xs[0].shape[1:] or xs[1].dtype != xs[0].dtype
                         or ys[1].dtype != ys[0].dtype or ys[1].shape[1:] != ys[0].shape[1:]):
        raise ImageError(f"x_val/y_val ({list(xs[1].shape[1:])}, {xs[1].dtype}) do not match x/y "
                         f"({list(xs[0].shape[1:])}, {xs[0].dtype})")
    if len(xs[0]) < MIN_SAMPLES:
        raise ImageError(f"'x' has {len(xs[0])} samples; at least {MIN_SAMPLES} are needed")
    if size is not None:
        if xs[0].ndim != 4:
            raise ImageError("size resizes images; these inputs are feature vectors [N, F]", "size")
        # The resized array must fit before it is allocated.
        check_stored(np.broadcast_to(xs[0].dtype.type(0), (sum(map(len, xs)), xs[0].shape[1], *size)), limits)
        xs = [resize(x, size) for x in xs]
    x, y = np.concatenate(xs), np.concatenate(ys)
    check_stored(x, limits)
    n_train = len(xs[0]) if len(xs) == 2 else None
    if y.dtype != np.int64:
        return Parsed(x, y, "regression", None, n_train, "npz")
    keys = np.unique(y)
    if "classes" in a:
        names = a["classes"]
        if names.ndim != 1 or names.dtype.kind not in "US":
            raise ImageError("array 'classes' must be a 1-D array of strings (the label names)")
        classes = [str(c) for c in names.astype(str)]
        if keys.min() < 0 or keys.max() >= len(classes):
            raise ImageError(f"labels in y run from {keys.min()} to {keys.max()}, but 'classes' names {len(classes)}")
    else:  # labels as given become indices 0..C-1 in sorted order
        classes = [str(k) for k in keys]
        y = np.searchsorted(keys, y).astype(np.int64)
    if len(classes) < 2:
        raise ImageError("y has a single class; classification needs 2 or more")
    return Parsed(x, y, "classification", classes, n_train, "npz")
