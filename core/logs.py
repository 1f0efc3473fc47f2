"""Logging that never writes sensitive data: every record is masked as it is created."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote_plus

from core.masking import mask_text

_installed = False


MAX_LOGGED_CHARS = 4096  # a request path can be long, and masking runs on every access line


def mask_logged(value: Any) -> Any:
    """A logged string masked, URL-encoded parts included; anything else as it is.

    Over MAX_LOGGED_CHARS it is cut first: an unauthenticated caller choosing a huge path
    must not buy seconds of masking work on the event loop."""
    if not isinstance(value, str):
        return value
    if len(value) > MAX_LOGGED_CHARS:
        value = value[:MAX_LOGGED_CHARS] + "…[truncated]"
    masked = mask_text(value)
    if "%" in value or "+" in value:
        # Access logs hold the path and query as sent (/v1/clients/%2B86%20139...); masking sees
        # only the decoded form, so that form is what gets logged when it hid anything.
        decoded = unquote_plus(value)
        decoded_masked = mask_text(decoded)
        if decoded_masked != decoded:
            return decoded_masked
    return masked


def install_log_masking() -> None:
    """Mask ID numbers, cards, mobiles, emails and SSNs in every log record of this process."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        # Mask the message and each argument in place: formatters such as uvicorn's access
        # log unpack record.args, so its shape must stay. A message with arguments is a format
        # string, which URL-decoding would break ("%2d" is both).
        if isinstance(record.msg, str):
            record.msg = mask_logged(record.msg) if not record.args else mask_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_logged(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: mask_logged(v) for k, v in record.args.items()}
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
