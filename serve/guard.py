"""What every /v1/ request passes before a route sees it: the API key, then the body's size and arrival time.

A plain ASGI middleware, so nothing is parsed before the checks: a wrong key gets 401 before the body
is read; a Content-Length over `max_body_bytes` gets 413 unread; a chunked body is counted as it
arrives and refused (413) as soon as it passes the limit; a body still arriving after `body_timeout_s`
(a client drip-feeding it) gets 408. A body that is not UTF-8 gets 400 (JSON is UTF-8, RFC 8259).
The checked body is then handed to the app as one message.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import Headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
PROTECTED = "/v1/"


class Refused(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


class ClientGone(Exception):
    pass


class RequestGuard:
    def __init__(self, app: ASGIApp, *, api_key: str | None, max_body_bytes: int, body_timeout_s: float):
        self.app, self.api_key = app, api_key
        self.max_body_bytes, self.body_timeout_s = max_body_bytes, body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            self.check_key(headers.get("authorization"))
            body = await self.read_body(headers, receive)
        except Refused as r:
            await answer(send, r.status, r.detail, r.headers)
            return
        except ClientGone:
            return
        await self.app(scope, replay(body, receive), send)

    def check_key(self, authorization: str | None) -> None:
        if self.api_key is None:
            return
        scheme, _, given = (authorization or "").partition(" ")
        # compare_digest takes as long whatever the key's first wrong byte, so timing tells nothing
        right = secrets.compare_digest(given.strip().encode(), self.api_key.encode())
        if scheme.lower() != "bearer" or not right:
            raise Refused(401, "missing or wrong API key: send Authorization: Bearer <SERVE_API_KEY>",
                          {"WWW-Authenticate": "Bearer"})

    async def read_body(self, headers: Headers, receive: Receive) -> bytes:
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                raise Refused(400, f"Content-Length {declared[:20]!r} is not a number of bytes")
            if int(declared) > self.max_body_bytes:
                raise Refused(413, f"body of {int(declared)} bytes; the limit is {self.max_body_bytes}")
        body = await self.receive_body(receive)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Refused(400, f"body is not UTF-8: byte 0x{body[exc.start]:02x} at offset {exc.start}") \
                from None
        return body

    async def receive_body(self, receive: Receive) -> bytes:
        loop = asyncio.get_running_loop()
        until = loop.time() + self.body_timeout_s
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), until - loop.time())
            except TimeoutError:
                raise Refused(408, f"body not received within {self.body_timeout_s:g} s",
                              {"Connection": "close"}) from None
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise Refused(413, f"body over the limit of {self.max_body_bytes} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """The checked body as one message, then the client's own messages (a disconnect, say)."""
    sent = False

    async def next_message() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return next_message


async def answer(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    payload = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
