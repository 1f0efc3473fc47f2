"""ASGI middleware: refuse oversized bodies, and requests beyond the in-flight limit, up front."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
RETRY_AFTER_SECONDS = 1  # an overload clears as soon as requests finish


async def _send_error(
    send: Send, status: int, error: str, detail: str, headers: list[tuple[bytes, bytes]]
) -> None:
    """Answer in the API's one error shape, {"error": ..., "detail": ...}, before any handler."""
    body = json.dumps({"error": error, "detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """413 for a declared or streamed body larger than max_bytes."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        # Read the body first (at most max_bytes + 1 chunk), then replay it to the app.
        messages: list[Message] = []
        seen, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                messages.append(message)
                break
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await self._refuse(send)
                return
            messages.append(message)
            more = message.get("more_body", False)

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        detail = f"request body is over {self.max_bytes} bytes"
        await _send_error(send, 413, "PayloadTooLarge", detail, [])


class InFlightLimit:
    """503 Overloaded, with Retry-After, for an HTTP request beyond `limit` being handled at once.

    It counts requests, not connections: an idle or half-open socket holds no slot (uvicorn's
    limit_concurrency counted those, so silent sockets could refuse everyone). Lifespan and
    websocket scopes and /healthz pass through uncounted. One event loop runs every call, so a
    plain int is enough.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"InFlightLimit needs a limit of at least 1, got {limit}")
        self.app, self.limit, self.in_flight = app, limit, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # /healthz answers from the event loop and holds nothing: a liveness probe must see a
        # server that is busy, not be refused by it.
        if scope["type"] != "http" or scope["path"] == "/healthz":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            detail = f"more than {self.limit} requests in flight; retry shortly"
            retry = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
            await _send_error(send, 503, "Overloaded", detail, retry)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
