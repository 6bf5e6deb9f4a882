"""The FastAPI application: routers under /api, then the built front end at /."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from blocklab import __version__
from blocklab.api import API_MODULES
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
        # Same shape as FastAPI's default, but never echo huge inputs back.
        errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    for mod in API_MODULES:
        app.include_router(mod.router, prefix="/api")

    _mount_frontend(app)
    return app


def _mount_frontend(app: FastAPI) -> None:
    index = STATIC_DIR / "index.html"
    if not index.exists():
        @app.get("/", include_in_schema=False)
        def _no_frontend():
            return JSONResponse({"detail": "front end not built: run `npm ci && npm run build` in frontend/"})
        return
    app.mount("/assets", StaticFiles(directory=STATIC_DIR / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    def _spa(path: str):
        # Real files (favicon, ...) are served as-is; every other path is a client route.
        f = (STATIC_DIR / path).resolve()
        if path and f.is_file() and STATIC_DIR.resolve() in f.parents:
            return FileResponse(f)
        return FileResponse(index)
