"""Documented error bodies, so clients (and schemathesis) know every shape an error takes."""

from __future__ import annotations

from typing import Any

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
    errors: list[ErrorInfo]


class ValidationItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class HTTPError(BaseModel):
    detail: str | Invalid | list[ValidationItem]


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        401: "missing or wrong token", 404: "no such resource", 409: "conflicts with the resource's state",
        413: "request body too large", 422: "the input is malformed or invalid; `detail` says where",
        429: "too many runs queued; retry after Retry-After seconds",
    }
    return {c: {"model": HTTPError, "description": text.get(c, "error")} for c in codes}
