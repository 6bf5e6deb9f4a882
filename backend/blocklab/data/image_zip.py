"""A zip of class folders (torchvision's ImageFolder layout) -> one uint8 array [N, C, H, W].

    train/<class>/<image>      required; the folder name is the class (sorted, as ImageFolder)
    val/<class>/<image>        optional; else the dataset splits train by val_fraction
    <class>/<image>            also accepted (train only); one wrapping top folder is skipped

Checked before anything is decompressed: the number of entries and their declared sizes
(a zip bomb is refused from its directory alone); per image, the pixel count from its header
before decoding. Images are decoded with Pillow and resized (bilinear, antialiased) to `size`,
by default the first image's size.
"""

from __future__ import annotations

import io
import warnings
import zipfile

import numpy as np

from blocklab.data.image_base import MIN_SAMPLES, Color, ImageError, Limits, Parsed, check_stored

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
PIL_FORMATS = ["PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF", "PPM"]
SPLITS = ("train", "val")


def _junk(parts: list[str]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts) or parts[-1].lower() in ("thumbs.db", "desktop.ini")


def _layout(infos: list[zipfile.ZipInfo]) -> tuple[dict[str, list[tuple[str, zipfile.ZipInfo]]], int]:
    """{split: [(class, entry)]} and the number of non-image files skipped."""
    files = [(i.filename.replace("\\", "/").strip("/").split("/"), i) for i in infos if not i.is_dir()]
    files = [(p, i) for p, i in files if not _junk(p)]
    images = [(p, i) for p, i in files if p[-1].lower().endswith(EXTENSIONS)]
    skipped = len(files) - len(images)
    # One wrapping folder (zipping the folder itself rather than its contents) is skipped.
    while images and all(len(p) >= 3 and p[0] == images[0][0][0] and p[0] not in SPLITS for p, _ in images):
        images = [(p[1:], i) for p, i in images]
    if not images:
        raise ImageError("the zip holds no images: put them in class folders, train/<class>/<image>.png "
                         f"(formats {', '.join(e[1:] for e in EXTENSIONS)})")
    split_layout = any(p[0] in SPLITS for p, _ in images)
    out: dict[str, list] = {"train": [], "val": []}
    for p, i in images:
        if split_layout:
            if len(p) != 3 or p[0] not in SPLITS:
                raise ImageError(f"'{i.filename}' is not in a class folder under train/ or val/: "
                                 "the layout is train/<class>/<image> (and optionally val/<class>/<image>)")
            out[p[0]].append((p[1], i))
        else:
            if len(p) != 2:
                raise ImageError(f"'{i.filename}' is not in a class folder: the layout is train/<class>/<image>")
            out["train"].append((p[0], i))
    return out, skipped


def _check_sizes(zf: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise ImageError(f"the zip has {len(infos):,} entries; the limit is {limits.max_entries:,}", "file", 413)
    total = sum(i.file_size for i in infos)
    if total > limits.max_expanded:
        raise ImageError(f"the zip expands to {total:,} bytes; the limit is {limits.max_expanded:,}", "file", 413)
    return infos


def _decode(zf: zipfile.ZipFile, info: zipfile.ZipInfo, size: tuple[int, int] | None, limits: Limits):
    """One image as an RGB uint8 array [H, W, 3] at `size` (h, w), or at its own size if None."""
    from PIL import Image

    name = info.filename
    if info.file_size > limits.max_file:
        raise ImageError(f"'{name}' expands to {info.file_size:,} bytes; the limit per image is {limits.max_file:,}",
                         "file", 413)
    try:
        with zf.open(info) as f:
            raw = f.read(limits.max_file + 1)  # the declared size bounds it; a lying header fails its CRC
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(raw), formats=PIL_FORMATS)
            w, h = img.size
            if w * h > limits.max_pixels:
                raise ImageError(f"'{name}' is {w}x{h} pixels; the limit is {limits.max_pixels:,} pixels", "file", 413)
            target = size or (h, w)
            if img.format == "JPEG":
                img.draft("RGB", (target[1], target[0]))  # decode at a reduced scale where it can
            img = _eight_bit(img).convert("RGB")
            if img.size != (target[1], target[0]):
                img = img.resize((target[1], target[0]), Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:  # Pillow's own check, at open
        raise ImageError(f"'{name}' declares too many pixels ({e}); the limit is {limits.max_pixels:,} pixels"[:300],
                         "file", 413) from None
    except (zipfile.BadZipFile, OSError, ValueError, SyntaxError, EOFError) as e:
        # Truncated or corrupt data (Pillow raises OSError), a CRC mismatch, an unknown format.
        raise ImageError(f"'{name}' is not a readable image: {e}"[:300]) from None


def _eight_bit(img):
    """16-bit and 32-bit gray images scaled to 8 bits (Pillow's convert would clip them at 255)."""
    from PIL import Image

    if img.mode.startswith("I;16") or img.mode == "I":
        a = np.asarray(img, dtype=np.float64)  # I;16: 0..65535; I (32-bit): taken as 16-bit too
        return Image.fromarray(np.clip(np.rint(a / 257), 0, 255).astype(np.uint8))
    if img.mode == "F":  # floats: taken as 0..1
        a = np.nan_to_num(np.asarray(img, dtype=np.float64))
        return Image.fromarray(np.clip(np.rint(a * 255), 0, 255).astype(np.uint8))
    return img


def parse(raw: bytes, size: tuple[int, int] | None, color: Color, limits: Limits) -> Parsed:
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise ImageError(f"the file is not a readable zip: {e}"[:300]) from None
    with zf:
        splits, skipped = _layout(_check_sizes(zf, limits))
        n = len(splits["train"]) + len(splits["val"])
        if n > limits.max_images:
            raise ImageError(f"the zip has {n:,} images; the limit is {limits.max_images:,}", "file", 413)
        classes = sorted({c for c, _ in splits["train"]})
        if len(classes) < 2:
            raise ImageError(f"train/ has {len(classes)} class folder(s); classification needs 2 or more")
        extra = sorted({c for c, _ in splits["val"]} - set(classes))
        if extra:
            raise ImageError(f"val/{extra[0]} is a class with no folder in train/; the classes are {', '.join(classes)}")
        if len(splits["train"]) < MIN_SAMPLES:
            raise ImageError(f"train/ has {len(splits['train'])} images; at least {MIN_SAMPLES} are needed")
        # Sorted like ImageFolder: by class, then file name (so the same zip gives the same array).
        entries = [sorted(splits[s], key=lambda ci: (ci[0], ci[1].filename)) for s in SPLITS]
        ordered = entries[0] + entries[1]
        first = _decode(zf, ordered[0][1], size, limits)
        h, w = first.shape[:2]
        if max(h, w) > limits.max_side:
            raise ImageError(f"the images are {w}x{h}; give a size of at most {limits.max_side} to resize them", "size")
        # Even gray (one channel) must fit, before the [N, H, W, 3] buffer is allocated.
        check_stored(np.broadcast_to(np.uint8(0), (n, 1, h, w)), limits)
        x = np.empty((n, h, w, 3), dtype=np.uint8)
        x[0] = first
        for k, (_, info) in enumerate(ordered[1:], start=1):
            x[k] = _decode(zf, info, (h, w), limits)
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[c] for c, _ in ordered], dtype=np.int64)
    gray = color == "gray" or (color == "auto" and bool((x[..., 0] == x[..., 1]).all() and (x[..., 1] == x[..., 2]).all()))
    if gray:  # ITU-R 601-2 luma, as Pillow's convert("L")
        arr = (x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114 + 0.5).astype(np.uint8)[:, None]
    else:
        arr = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # [N, H, W, 3] -> [N, 3, H, W]
    check_stored(arr, limits)
    n_train = len(entries[0]) if entries[1] else None
    return Parsed(arr, y, "classification", classes, n_train, "zip", skipped)

