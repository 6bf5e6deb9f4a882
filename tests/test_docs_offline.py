"""/docs and /redoc load every script and style from this server (no CDN), so they work offline."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from blocklab.api.docs_offline import install_offline_docs
from blocklab.app import create_app
from blocklab.settings import Settings


def _client(tmp_path) -> TestClient:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    install_offline_docs(app)  # a no-op once create_app installs it itself
    install_offline_docs(app)  # and twice is once
    # what create_app does: the docs before the front end's catch-all route
    spa = [r for r in app.router.routes if getattr(r, "path", "") == "/{path:path}"]
    app.router.routes[:] = [r for r in app.router.routes if r not in spa] + spa
    return TestClient(app)


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: *'([^']+)'", html)


def test_docs_and_redoc_use_only_local_assets(tmp_path):
    c = _client(tmp_path)
    for page, needs in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        r = c.get(page)
        assert r.status_code == 200
        urls = _assets(r.text)
        assert any(u.endswith(needs) for u in urls), urls
        assert "googleapis" not in r.text and "jsdelivr" not in r.text
        for u in urls:
            assert u.startswith("/"), f"{page} loads {u} from elsewhere"
            got = c.get(u)
            assert got.status_code == 200 and got.content, u
    # the spec the pages render
    assert c.get("/openapi.json").json()["paths"]
