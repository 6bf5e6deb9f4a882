"""Pure ASGI middleware for bearer-token access (the body limit is FastAPI's own max_body_size)."""

from __future__ import annotations

import hmac
import json
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send


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
