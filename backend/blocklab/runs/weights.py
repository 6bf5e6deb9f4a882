"""Uploaded weights: safetensors only, checked against a design before anything uses them.

A .pt/.pth file is a pickle, which can run code when loaded, so it is refused by its first
bytes and never parsed. A safetensors file is a JSON header plus raw buffers: parsing it
runs nothing. Keys, shapes and dtypes must match the design's state_dict exactly, and every
floating value must be finite.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import torch
from safetensors.torch import load as st_load

from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from blocklab.runs.checkpoints import write

ID_LEN = 32


class WeightsError(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors[:5]))
        self.errors = errors


def expected(doc: GraphDoc) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """The design's state_dict signature, without allocating real weights when possible."""
    try:
        with torch.device("meta"):
            sd = build(doc).state_dict()
    except Exception:  # an init that cannot run on meta tensors: build for real
        sd = build(doc).state_dict()
    return {k: (tuple(v.shape), v.dtype) for k, v in sd.items()}


def parse(raw: bytes, want: dict[str, tuple[tuple[int, ...], torch.dtype]]) -> dict[str, torch.Tensor]:
    # safetensors: an 8-byte header length, then the JSON header ("{" at byte 8).
    if raw[8:9] != b"{" and (raw[:4] == b"PK\x03\x04" or raw[:1] == b"\x80"):
        raise WeightsError([
            "this looks like a torch.save (.pt/.pth) file, which holds pickle and is never loaded here; "
            "upload safetensors instead: safetensors.torch.save_file(model.state_dict(), 'weights.safetensors')"
        ])
    try:
        tensors = st_load(raw)
    except Exception as e:  # malformed header or buffers
        raise WeightsError([f"not a valid safetensors file: {str(e)[:200]}"]) from None
    return check(tensors, want)


def check(tensors: dict[str, torch.Tensor], want: dict[str, tuple[tuple[int, ...], torch.dtype]]) -> dict[str, torch.Tensor]:
    errors = []
    missing = [k for k in want if k not in tensors]
    extra = [k for k in tensors if k not in want]
    if missing:
        errors.append(f"missing keys: {', '.join(missing[:20])}")
    if extra:
        errors.append(f"unexpected keys: {', '.join(extra[:20])}")
    for k, t in tensors.items():
        if k not in want:
            continue
        shape, dtype = want[k]
        if tuple(t.shape) != shape:
            errors.append(f"'{k}' has shape {list(t.shape)}; the design needs {list(shape)}")
        elif t.dtype != dtype:
            errors.append(f"'{k}' has dtype {str(t.dtype).removeprefix('torch.')}; the design needs "
                          f"{str(dtype).removeprefix('torch.')}")
        elif t.is_floating_point() and not bool(torch.isfinite(t).all()):
            errors.append(f"'{k}' holds NaN or infinite values")
    if errors:
        raise WeightsError(errors)
    return tensors


def folder(data_dir: Path) -> Path:
    return data_dir / "weights"


def save(data_dir: Path, tensors: dict[str, torch.Tensor], name: str, graph_name: str) -> dict:
    wid = uuid.uuid4().hex
    write(folder(data_dir) / f"{wid}.safetensors", {k: v.contiguous() for k, v in tensors.items()})
    meta = {"id": wid, "name": name[:200], "graph": graph_name, "keys": len(tensors),
            "total_values": int(sum(t.numel() for t in tensors.values()))}
    (folder(data_dir) / f"{wid}.json").write_text(json.dumps(meta))
    return meta


def load(data_dir: Path, wid: str) -> dict[str, torch.Tensor] | None:
    if len(wid) != ID_LEN or not all(c in "0123456789abcdef" for c in wid):
        return None
    p = folder(data_dir) / f"{wid}.safetensors"
    return st_load(p.read_bytes()) if p.is_file() else None
