"""The graph and CustomLayer code hold one idea per file and import one way (issue 16):
graph types apart from the passes over them, codegen independent of analyze, the
CustomLayer language independent of the block registry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[1] / "backend" / "blocklab"


def loaded_after(module: str) -> set[str]:
    """The blocklab modules a fresh interpreter has loaded after importing `module` alone."""
    code = f"import sys, {module}; print('\\n'.join(m for m in sys.modules if m.startswith('blocklab')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_custom_language_does_not_load_the_block_registry():
    loaded = loaded_after("blocklab.custom.parse, blocklab.custom.trace, blocklab.custom.emit, blocklab.custom.tensors")
    assert "blocklab.custom.tensors" in loaded and "blocklab.blocks" not in loaded


def test_the_custom_block_imports_first():
    code = "import blocklab.blocks.custom; from blocklab.blocks import REGISTRY; assert 'CustomLayer' in REGISTRY"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_codegen_does_not_call_back_into_analyze():
    loaded = loaded_after("blocklab.graph.codegen")
    assert "blocklab.graph.types" in loaded and "blocklab.graph.analyze" not in loaded


@pytest.mark.parametrize("folder", ["graph", "custom"])
def test_files_stay_under_300_lines(folder):
    sizes = {p.name: len(p.read_text().splitlines()) for p in (BACKEND / folder).glob("*.py")}
    assert sizes and max(sizes.values()) <= 300, sizes
