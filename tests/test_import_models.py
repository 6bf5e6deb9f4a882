"""`blocklab import`, run as a user runs it (a subprocess on the user's own file), on four
hand-written models: LeNet, a ResNet-18 written from the paper (torchvision's attribute
names), a Transformer encoder built on torch's nn.TransformerEncoder, and D2L's NestMLP.
The written design goes through POST /api/export/python; the exported Model takes the
original module's own state_dict with strict=True and computes what the module computes.
Torch (the original module) is the reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

import import_models as M
from graphs import load_exported

MODELS = Path(M.__file__)
BLOCKLAB = Path(sys.executable).with_name("blocklab")
# (class, constructor kwargs, --input-shape, --indices, one example batch). ResNet-18 at a
# quarter of its width: the same 18 layers and keys, a sixteenth of the arithmetic.
CASES = {
    "LeNet": ({}, "1,28,28", None, lambda: torch.randn(3, 1, 28, 28)),
    "ResNet18": ({"width": 16, "num_classes": 10}, "3,64,64", None, lambda: torch.randn(3, 3, 64, 64)),
    "TinyTransformer": ({}, "12", 50, lambda: torch.randint(0, 50, (3, 12))),
    "NestMLP": ({}, "20", None, lambda: torch.randn(3, 20)),
}


def original(name: str) -> nn.Module:
    kwargs = CASES[name][0]
    torch.manual_seed(3)
    module = getattr(M, name)(**kwargs).eval()
    with torch.no_grad():  # trained-looking batch norm statistics, so eval-mode BatchNorm really counts
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2)
    return module


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> dict[str, tuple[dict, Path]]:
    """Run the four imports at once (each is a process that starts torch), as a user would:
    `blocklab import tests/import_models.py:ResNet18 --input-shape 3,64,64 --load ... -o ... --weights ...`."""
    d = tmp_path_factory.mktemp("import")
    procs = {}
    for name, (kwargs, shape, indices, _) in CASES.items():
        save_file(dict(original(name).state_dict()), str(d / f"{name}.in.safetensors"))
        cmd = [str(BLOCKLAB), "import", f"{MODELS}:{name}", "--input-shape", shape, "--kwargs", json.dumps(kwargs),
               "--load", str(d / f"{name}.in.safetensors"), "-o", str(d / f"{name}.json"),
               "--weights", str(d / f"{name}.safetensors"), *(["--indices", str(indices)] if indices else [])]
        procs[name] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    out = {}
    for name, p in procs.items():
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr
        assert f"{name}.json: " in stdout
        out[name] = (json.loads((d / f"{name}.json").read_text()), d / f"{name}.safetensors")
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_cli_import_loads_the_original_state_dict_strictly(client, imported, name):
    doc, weights = imported[name]
    r = client.post("/api/export/python", json=doc)
    assert r.status_code == 200, r.text
    module = original(name)
    model = load_exported(r.text)().eval()
    model.load_state_dict(module.state_dict(), strict=True)  # the original keys, nothing renamed
    assert set(load_file(weights)) == set(module.state_dict())  # --weights: the same tensors, ready for init_weights
    x = CASES[name][3]()
    with torch.no_grad():
        torch.testing.assert_close(model(x), module(x), atol=1e-5, rtol=1e-5)


def test_resnet18_keeps_torchvisions_structure(imported):
    doc, _ = imported["ResNet18"]
    assert [n["id"] for n in doc["nodes"]] == ["x", "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3",
                                               "layer4", "avgpool", "flatten", "fc", "Y"]
    stage = next(n for n in doc["nodes"] if n["id"] == "layer2")  # nn.Sequential of two: a repeat, keys layer2.0.*
    assert stage["repeat"] == 2
    first = doc["blocks"][stage["type"]]  # BasicBlock: stride 2 and its projection shortcut in copy 0
    ids = [n["id"] for n in first["nodes"]]
    assert {"conv1", "bn1", "relu", "conv2", "bn2", "downsample"} <= set(ids)
    assert next(n for n in first["nodes"] if n.get("calls"))["calls"] == "relu"  # one ReLU module, called twice


def test_transformer_encoder_becomes_torchs_own_layers(imported):
    doc, _ = imported["TinyTransformer"]
    types = {n["id"]: n["type"] for n in doc["nodes"]}
    assert types["position"] == "CustomLayer" and types["embed"] == "Embedding"
    encoder = doc["blocks"][types["encoder"]]
    layers = doc["blocks"][next(n["type"] for n in encoder["nodes"] if n["id"] == "layers")]
    blocks = [n for n in layers["nodes"] if n["type"] == "TransformerEncoderLayer"]
    assert [n["id"] for n in blocks] == ["0", "1"]
    assert blocks[0]["params"] == {"nhead": 4, "dim_feedforward": 32}  # d_model inferred, the rest defaults
