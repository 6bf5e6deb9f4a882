"""Pure ASGI middleware: bearer-token access, and the body guard (size limit, JSON checks)."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from email.message import Message
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from blocklab import jsonin


async def _send_json(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]] = ()) -> None:
    data = json.dumps(body).encode()
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *headers],
    })
    await send({"type": "http.response.body", "body": data})


class TokenAuth:
    """With a token set, every /api request and stream needs it: `Authorization: Bearer <token>`
    (browsers cannot set headers on a websocket, so the stream also takes `?token=`)."""

    def __init__(self, app: ASGIApp, token: str):
        self.app, self.token = app, token.encode()

    def _ok(self, scope: Scope) -> bool:
        auth = dict(scope["headers"]).get(b"authorization", b"")
        if auth.lower().startswith(b"bearer ") and hmac.compare_digest(auth[7:].strip(), self.token):
            return True
        if scope["type"] == "websocket":
            q = parse_qs(scope.get("query_string", b"").decode()).get("token", [""])[0].encode()
            return hmac.compare_digest(q, self.token)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith("/api") or self._ok(scope):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            await receive()  # the connect message
            return await send({"type": "websocket.close", "code": 1008, "reason": "missing or wrong token"})
        await _send_json(send, 401, {"detail": "missing or wrong token: send Authorization: Bearer <token>"},
                         [(b"www-authenticate", b"Bearer")])


class BodyGuard:
    """Every HTTP request body, before any route sees it:
    - over `max_bytes` (by Content-Length, or counted as a chunked body streams in): 413 with
      the JSON `{"detail": ...}` of every other error. The rest of the body is read and
      dropped first (up to `drain_bytes` more, for `drain_seconds`): a client that is still
      sending (urllib, requests) would otherwise see a reset connection, not the 413. A client
      that asked `Expect: 100-continue` has sent nothing yet and is answered at once.
    - a JSON body (application/json, */*+json) is checked by jsonin: nested deeper than
      jsonin.MAX_DEPTH or holding text that is not valid Unicode gets a 422 whose `loc` names
      the value, in FastAPI's own error shape. Malformed JSON is left to the framework's 422.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, drain_bytes: int = 64 * 1024 * 1024, drain_seconds: float = 15.0):
        self.app, self.max_bytes, self.drain_bytes, self.drain_seconds = app, max_bytes, drain_bytes, drain_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        try:
            length = int(headers.get("content-length", ""))
        except ValueError:
            length = None
        if length is not None and length > self.max_bytes:
            if headers.get("expect", "").lower() != "100-continue":
                await self._drain(receive, 0)
            return await self._too_large(send)
        if _is_json(headers.get("content-type")):
            return await self._json(scope, receive, send)
        await self._counted(scope, receive, send)

    async def _json(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                if more:
                    await self._drain(receive, size)
                return await self._too_large(send)
        body = b"".join(chunks)
        try:
            jsonin.check_body(body)
        except jsonin.BadJson as e:
            item = {"type": e.kind, "loc": ["body", *e.path], "msg": e.message}
            return await _send_json(send, 422, {"detail": [item]})
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A body of unknown length (chunked): count it; past the limit the route's reading
        fails, and whatever the route answers is replaced by the 413."""
        size, over, started = 0, False, False

        async def counting():
            nonlocal size, over
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.max_bytes and not over:
                    over = True
                    if message.get("more_body", False):
                        await self._drain(receive, size)
                    raise _TooLarge()
            return message

        async def guarded_send(message):
            nonlocal started
            if over:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._too_large(send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, guarded_send)
        except _TooLarge:
            if not started:
                await self._too_large(send)

    async def _drain(self, receive: Receive, size: int) -> None:
        deadline = time.monotonic() + self.drain_seconds
        budget = size + self.drain_bytes
        while size <= budget:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                return
            if message["type"] != "http.request":
                return
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _too_large(self, send: Send) -> None:
        await _send_json(send, 413, {"detail": f"the request body is over the limit of {self.max_bytes:,} bytes "
                                               f"(BLOCKLAB_MAX_BODY_BYTES)"}, [(b"connection", b"close")])


class _TooLarge(Exception):
    pass


def _is_json(content_type: str | None) -> bool:
    """The framework's own rule for a body it parses as JSON."""
    if not content_type:
        return False
    m = Message()
    m["content-type"] = content_type
    sub = m.get_content_subtype()
    return m.get_content_maintype() == "application" and (sub == "json" or sub.endswith("+json"))
