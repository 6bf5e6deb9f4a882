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
    errors: list[ErrorInfo]  # at most MAX_ERRORS, the last then counting the rest


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
    """FastAPI's validation items ({type, loc, msg}): at most MAX_ERRORS, each message and
    location bounded; past the cap the last item counts the rest."""
    out = [{"type": e["type"], "loc": list(e["loc"])[:32], "msg": _short(e["msg"])} for e in items[:MAX_ERRORS]]
    if len(items) > MAX_ERRORS:
        rest = len(items) - (MAX_ERRORS - 1)
        out[-1] = {"type": "too_many_errors", "loc": [], "msg": f"… and {rest:,} more"}
    return out


def capped_errors(errors: list) -> list:
    """{node, field, message} entries, as graph analysis caps its own: at most MAX_ERRORS,
    errors before warnings, each message shortened; past the cap the last counts the rest."""
    if len(errors) > MAX_ERRORS:
        ranked = sorted(errors, key=lambda e: isinstance(e, dict) and e.get("severity") == "warning")
        rest = len(errors) - (MAX_ERRORS - 1)
        errors = [*ranked[: MAX_ERRORS - 1], {"node": None, "field": None, "message": f"… and {rest:,} more"}]
    return [{**e, "message": _short(e.get("message"))} if isinstance(e, dict) else e for e in errors]


def capped_detail(detail: Any) -> Any:
    """An HTTPException's detail: a string is shortened, error lists are capped."""
    if isinstance(detail, str):
        return _short(detail)
    if isinstance(detail, dict) and isinstance(detail.get("errors"), list):
        return {**detail, "message": _short(detail.get("message")), "errors": capped_errors(detail["errors"])}
    if isinstance(detail, list) and all(isinstance(e, dict) and {"type", "loc", "msg"} <= e.keys() for e in detail):
        return capped_items(detail)
    return detail
