"""/docs (Swagger UI) and /redoc with their scripts and styles served by this server, not a CDN:
the API's documentation works on a machine without internet. The assets come from the
`fastapi-offline` package (its static/ folder: swagger-ui-bundle.js, swagger-ui.css,
redoc.standalone.js), mounted at /docs-static.

create_app calls install_offline_docs(app) once, after the API routers and before the front end's
catch-all route.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
PREFIX = "/docs-static"


def install_offline_docs(app: FastAPI) -> None:
    """Replace FastAPI's CDN-backed /docs and /redoc pages with ones that load local assets (once)."""
    if any(getattr(r, "name", None) == "docs-static" for r in app.router.routes):
        return
    docs, redoc = app.docs_url or "/docs", app.redoc_url or "/redoc"
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in (docs, redoc)]
    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="docs-static")
    title = app.title

    @app.get(docs, include_in_schema=False)
    def _swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{title} – API",
            swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js", swagger_css_url=f"{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/favicon.png",
            oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
        )

    @app.get(redoc, include_in_schema=False)
    def _redoc() -> HTMLResponse:
        # with_google_fonts=False: the page would otherwise ask fonts.googleapis.com for its font
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{title} – API",
            redoc_js_url=f"{PREFIX}/redoc.standalone.js", redoc_favicon_url=f"{PREFIX}/favicon.png",
            with_google_fonts=False,
        )
