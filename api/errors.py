"""One JSON error shape for everything: {"error": ..., "detail": ...}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.database import is_transient
from core.errors import RateLimited, TierwiseError, Unauthorized, Unavailable
from core.masking import mask_text

log = logging.getLogger("tierwise.api")


def _body(error: str, detail: str, status: int) -> JSONResponse:
    # Details echo ids from the path and keys from the body: a phone sent as an id comes back.
    return JSONResponse({"error": error, "detail": mask_text(detail)}, status_code=status)


def _unavailable(detail: str) -> JSONResponse:
    response = _body("Unavailable", detail, 503)
    response.headers["Retry-After"] = "1"
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(TierwiseError)
    async def tierwise_error(request: Request, exc: TierwiseError) -> Response:
        if request.url.path.startswith("/inbox") and isinstance(exc, Unauthorized):
            return RedirectResponse("/inbox/login", status_code=303)  # the browser signs in
        if isinstance(exc, Unavailable):
            return _unavailable(exc.detail)
        response = _body(exc.error, exc.detail, exc.status_code)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"] if p != "body") or "body"
            parts.append(f"{loc}: {err['msg']}")
        return _body("ValidationError", "; ".join(parts), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        name = {
            404: "NotFound",
            405: "MethodNotAllowed",
            413: "PayloadTooLarge",
            429: "RateLimited",
        }.get(exc.status_code, "HTTPError")
        return _body(name, str(exc.detail), exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        if is_transient(exc):  # busy, not broken: the caller may retry
            log.warning("database busy: %s", type(exc).__name__)
            return _unavailable("the database is busy; retry in a moment")
        log.error("unhandled %s", type(exc).__name__)
        return _body("InternalError", "something went wrong; it has been logged", 500)
