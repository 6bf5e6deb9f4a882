"""Shared fixtures: an app on a temporary data dir, and a TestClient for it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from blocklab.app import create_app
from blocklab.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


pytest_plugins = ["ray_cluster"]  # the session's loopback Ray cluster (`ray_url`), for test_ray*.py and sweeps
