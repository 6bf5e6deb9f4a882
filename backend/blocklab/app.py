"""The FastAPI application: routers under /api, then the built front end at /."""

from __future__ import annotations

import os
import re
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from blocklab import __version__
from blocklab.api import API_MODULES
from blocklab.api.docs_offline import install_offline_docs
from blocklab.api.errors import capped_detail, capped_items
from blocklab.middleware import BodyGuard, TokenAuth
from blocklab.settings import Settings
from blocklab.store.db import create_engine

STATIC_DIR = Path(os.environ.get("BLOCKLAB_STATIC_DIR", Path(__file__).resolve().parents[2] / "frontend" / "dist"))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Each API module may own a startup/shutdown pair (e.g. the run manager).
        for mod in API_MODULES:
            if hasattr(mod, "startup"):
                await mod.startup(app)
        yield
        for mod in reversed(API_MODULES):
            if hasattr(mod, "shutdown"):
                await mod.shutdown(app)

    app = FastAPI(title="Blocklab", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = create_engine(settings.db_url)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_req: Request, exc: RequestValidationError):
        # Same shape as FastAPI's default, but never echo inputs back, and at most MAX_ERRORS.
        return JSONResponse({"detail": capped_items(exc.errors())}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http_error(req: Request, exc: HTTPException):
        # The framework answers 400 when a body parser itself gives up (JSON nested deeper than
        # the recursion limit, broken multipart); our routes never do. A malformed body is a 422.
        if exc.status_code == 400:
            msg = ("the body could not be parsed as JSON (malformed, or nested too deeply)"
                   if exc.detail == "There was an error parsing the body" else f"malformed body: {exc.detail}")
            return JSONResponse({"detail": [{"type": "body_invalid", "loc": ["body"], "msg": msg}]}, status_code=422)
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; list every documented one.
            allowed = _allowed_methods(app, req.url.path)
            return JSONResponse({"detail": "Method Not Allowed"}, 405, headers={"Allow": ", ".join(allowed)})
        exc.detail = capped_detail(exc.detail)
        return await http_exception_handler(req, exc)

    for mod in API_MODULES:
        app.include_router(mod.router, prefix="/api")

    # Outermost last: the token check runs before CORS, both before the body guard.
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["*"],
                           allow_headers=["*"])
    if settings.token:
        app.add_middleware(TokenAuth, token=settings.token)

    install_offline_docs(app)  # before the front end's catch-all route
    _mount_frontend(app)
    return app


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    if not hasattr(app.state, "path_methods"):
        app.state.path_methods = [
            (re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(p)) + "$"), [m.upper() for m in item])
            for p, item in app.openapi()["paths"].items()
        ]
    exact = [methods for rx, methods in app.state.path_methods if "[^/]+" not in rx.pattern and rx.match(path)]
    found = exact or [methods for rx, methods in app.state.path_methods if rx.match(path)]
    return sorted({m for methods in found for m in methods})


def _mount_frontend(app: FastAPI) -> None:
    index = STATIC_DIR / "index.html"
    if (STATIC_DIR / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=STATIC_DIR / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    def _spa(path: str):
        if path == "api" or path.startswith("api/"):
            allowed = _allowed_methods(app, "/" + path)  # an API path, just not for GET
            if allowed:
                return JSONResponse({"detail": "Method Not Allowed"}, 405, headers={"Allow": ", ".join(allowed)})
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        if not index.exists():
            return JSONResponse({"detail": "front end not built: run `npm ci && npm run build` in frontend/"})
        # Real files (favicon, ...) are served as-is; every other path is a client route.
        f = (STATIC_DIR / path).resolve()
        if path and f.is_file() and STATIC_DIR.resolve() in f.parents:
            return FileResponse(f)
        return FileResponse(index)
