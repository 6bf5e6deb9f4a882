"""Documented error bodies, so clients (and schemathesis) know every shape an error takes."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel


class ErrorInfo(BaseModel):
    """One problem, named by node (and field) where there is one."""

    node: str | None
    field: str | None
    message: str
    path: str | None = None
    block: str | None = None
    severity: str | None = None


class Invalid(BaseModel):
    message: str
    errors: list[ErrorInfo]  # at most MAX_ERRORS
    omitted_errors: int | None = None  # how many more there were


class ValidationItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class HTTPError(BaseModel):
    detail: str | Invalid | list[ValidationItem]


def invalid(message: str, errors: list[dict]) -> HTTPException:
    """The 422 of CONTRACT.md: {"detail": {"message", "errors": [{node, field, message}]}}."""
    return HTTPException(422, {"message": message, "errors": errors})


def problem(field: str | None, message: str, node: str | None = None) -> dict:
    return {"node": node, "field": field, "message": message}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        401: "missing or wrong token", 404: "no such resource", 409: "conflicts with the resource's state",
        413: "request body too large", 422: "the input is malformed or invalid; `detail` says where",
        429: "too many runs queued; retry after Retry-After seconds",
    }
    return {c: {"model": HTTPError, "description": text.get(c, "error")} for c in codes}


# Every error list a response carries is capped: a body with a million problems must not
# get a response (and a server allocation) a million entries long.
MAX_ERRORS = 100
MAX_MESSAGE = 1000


def _short(text: Any) -> Any:
    if isinstance(text, str) and len(text) > MAX_MESSAGE:
        return text[:MAX_MESSAGE] + f"... ({len(text) - MAX_MESSAGE:,} more characters)"
    return text


def capped_items(items: list[dict]) -> list[dict]:
    """FastAPI's validation items ({type, loc, msg}), at most MAX_ERRORS of them, each
    message and location bounded, then one item counting the rest."""
    out = [{"type": e["type"], "loc": list(e["loc"])[:32], "msg": _short(e["msg"])} for e in items[:MAX_ERRORS]]
    if len(items) > MAX_ERRORS:
        rest = len(items) - MAX_ERRORS
        out.append({"type": "too_many_errors", "loc": [], "msg": f"{rest:,} more errors not shown"})
    return out


def capped_errors(body: dict) -> dict:
    """A body with an `errors` list of {node, field, message}: at most MAX_ERRORS of them, each
    message shortened, and `omitted_errors` counting the rest (absent when none were left out)."""
    errors = body["errors"]
    if len(errors) > MAX_ERRORS:  # what is shown: errors before warnings
        errors = sorted(errors, key=lambda e: isinstance(e, dict) and e.get("severity") == "warning")
    kept = [{**e, "message": _short(e.get("message"))} if isinstance(e, dict) else e for e in errors[:MAX_ERRORS]]
    out = {**body, "errors": kept}
    if len(errors) > MAX_ERRORS:
        out["omitted_errors"] = len(errors) - MAX_ERRORS
    return out


def capped_detail(detail: Any) -> Any:
    """An HTTPException's detail: a string is shortened; {message, errors} keeps at most
    MAX_ERRORS errors (each message shortened) and says in `omitted_errors` how many it left out."""
    if isinstance(detail, str):
        return _short(detail)
    if isinstance(detail, dict) and isinstance(detail.get("errors"), list):
        return capped_errors({**detail, "message": _short(detail.get("message"))})
    if isinstance(detail, list) and all(isinstance(e, dict) and {"type", "loc", "msg"} <= e.keys() for e in detail):
        return capped_items(detail)
    return detail
