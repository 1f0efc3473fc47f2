"""Inbox defences beyond the session: security headers, same-origin forms, safe redirects.

The inbox runs no JavaScript, so its policy allows none: styles come from the pages' own
<style> blocks and style attributes, the chart is inline SVG, forms post only to this origin,
and no other site may frame the pages (clickjacking a sign-off button).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Where a redirect may send the browser back to: an inbox path of plain segments and an optional
# plain query. Nothing with dots, backslashes, a scheme, a host or control bytes.
INBOX_PATH = re.compile(r"/inbox(/[A-Za-z0-9_\-]*)*(\?[A-Za-z0-9_\-=&]*)?")
DEFAULT_PORTS = {"http": 80, "https": 443}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show client data: no shared or back-button cache keeps a copy after sign-out.
    "Cache-Control": "no-store",
}


class InboxSecurityHeaders:
    """Adds HEADERS to every response under `prefix`, including the answer to a crash."""

    def __init__(self, app: ASGIApp, prefix: str = "/inbox") -> None:
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # Starlette answers a crash outside every middleware, where these headers would be
            # missing: answer it here with the app's own 500 handler, then let it propagate so
            # the server still logs it (the outer handler sees the response already started).
            if started:
                raise
            response = await _crash_response(scope, exc)
            await response(scope, receive, send_with_headers)
            raise


async def _crash_response(scope: Scope, exc: Exception) -> Response:
    app = scope.get("app")
    handlers = getattr(app, "exception_handlers", {})
    handler = handlers.get(Exception) or handlers.get(500)
    if handler is None:
        return PlainTextResponse("Internal Server Error", status_code=500)
    response = handler(Request(scope), exc)
    if not isinstance(response, Response):
        response = await response
    return response  # type: ignore[no-any-return]


def inbox_path(target: str, fallback: str = "/inbox") -> str:
    """`target` if it is a plain inbox path (fullmatch: `$` would let a newline through)."""
    return target if INBOX_PATH.fullmatch(target) else fallback


def _origin(scheme: str, netloc: str) -> tuple[str, str, int | None]:
    parts = urlsplit(f"//{netloc}")
    scheme = scheme.lower()
    return scheme, parts.hostname or "", parts.port or DEFAULT_PORTS.get(scheme)


def same_origin(request: Request) -> bool:
    """False for a browser's form from another site, even one that somehow holds the CSRF
    token; a client that sends no Origin (curl, tests) is left to the token alone."""
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    sent = urlsplit(origin)
    try:
        theirs = _origin(sent.scheme, sent.netloc) if sent.scheme and sent.netloc else None
        # The request's own origin: its scheme as the server saw it and the Host it was sent to.
        ours = _origin(request.url.scheme, request.headers.get("host", ""))
    except ValueError:  # a port that is not a number
        return False
    return theirs == ours
