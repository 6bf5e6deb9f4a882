"""Builders for image-upload tests: zips of PNG class folders, .npz files, a real zip bomb."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
from PIL import Image


def png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def digits_uint8() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as uint8 images [N, 8, 8] (0..16 scaled to 0..255) and labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return np.rint(d.images * (255 / 16)).astype(np.uint8), d.target


def class_zip(images: dict[str, dict[str, list[np.ndarray]]], prefix: str = "", ext: str = "png") -> bytes:
    """{split: {class: [HxW(x3) uint8]}} -> a zip of <prefix><split>/<class>/<i>.<ext>."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for split, classes in images.items():
            for c, imgs in classes.items():
                for i, a in enumerate(imgs):
                    z.writestr(f"{prefix}{split}/{c}/{i:05d}.{ext}", png(a))
    return buf.getvalue()


def digits_zip(per_class: int = 12, val_per_class: int = 3) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A zip of the first digits of each class; also the arrays in the order ImageFolder sorts them."""
    x, y = digits_uint8()
    tree: dict[str, dict[str, list]] = {"train": {}, "val": {}}
    for c in range(10):
        idx = np.flatnonzero(y == c)
        tree["train"][f"d{c}"] = list(x[idx[:per_class]])
        if val_per_class:
            tree["val"][f"d{c}"] = list(x[idx[per_class:per_class + val_per_class]])
    if not val_per_class:
        del tree["val"]
    xs = [np.stack(tree[s][f"d{c}"]) for s in tree for c in range(10)]
    ys = [np.full(len(tree[s][f"d{c}"]), c) for s in tree for c in range(10)]
    return class_zip(tree), np.concatenate(xs), np.concatenate(ys)


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def bomb(name: str = "train/a/x.png", n_blocks: int = 36, block: int = 1 << 24) -> bytes:
    """A real zip bomb: one entry of n_blocks * 16 MiB zeros in ~0.5 MB, built without
    compressing them (one deflate block of zeros, flushed, repeated; deflate allows that)."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    part = co.compress(b"\0" * block) + co.flush(zlib.Z_FULL_FLUSH)
    data = part * n_blocks + b"\x03\x00"  # + an empty final block
    crc, zeros = 0, b"\0" * block
    for _ in range(n_blocks):
        crc = zlib.crc32(zeros, crc)
    size, nm = block * n_blocks, name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(nm), 0) + nm
    cen = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size, len(nm),
                      0, 0, 0, 0, 0, 0) + nm
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(cen), len(local) + len(data), 0)
    return local + data + cen + end


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header (right CRCs) claims width x height, with no pixel data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
