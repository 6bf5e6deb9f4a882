"""Checkpoints on disk: <data dir>/runs/<run id>/{last,best}.safetensors, written atomically
(temporary file, fsync, rename), so a crash leaves the previous file or the new one, never half.

Tensors are cloned before saving: tied parameters share storage, which safetensors refuses,
and the state_dict must list a shared module under both ids (CONTRACT section 1).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save


def run_dir(data_dir: Path, run_id: str) -> Path:
    return data_dir / "runs" / run_id


def path(data_dir: Path, run_id: str, which: str) -> Path:
    return run_dir(data_dir, run_id) / f"{which}.safetensors"


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the state_dict, safe to write from another moment or thread."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def write(target: Path, tensors: dict[str, torch.Tensor]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    data = st_save(tensors)
    tmp = target.with_name(f".{target.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)


def read(target: Path) -> dict[str, torch.Tensor]:
    return parse(target.read_bytes())


def parse(raw: bytes) -> dict[str, torch.Tensor]:
    return st_load(raw)


def as_pt(tensors: dict[str, torch.Tensor]) -> bytes:
    """The same tensors as a torch.save file that torch.load(weights_only=True) accepts."""
    buf = io.BytesIO()
    torch.save(dict(tensors), buf)
    return buf.getvalue()
