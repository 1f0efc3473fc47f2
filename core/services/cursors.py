"""Keyset cursors: a page's `next` names the sort key and id of the last row it shows, and the
page after it starts past that row, so rows written or decided meanwhile never shift a page.

Every check happens here, before any query: a naive or out-of-range time, or an id with a NUL
byte, would otherwise fail inside the database driver, as a 500.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TypeVar

from core.errors import InvalidInput

Key = TypeVar("Key")
MAX_ID = 64  # the longest id a row has (the tables' max_length)


def encode(key: date | datetime, row_id: str) -> str:
    """The cursor that continues after the row with this sort key and id."""
    return base64.urlsafe_b64encode(f"{key.isoformat()}|{row_id}".encode()).decode()


def instant(text: str) -> datetime:
    """A cursor's time, in UTC; one without an offset is not one this API wrote."""
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        raise ValueError("the cursor's time has no UTC offset")
    return moment.astimezone(UTC)  # overflows near year 1 and 9999: the caller's mistake


def decode(cursor: str, key: Callable[[str], Key], start: str) -> tuple[Key, str]:
    """The sort key (parsed by `key`) and id a cursor continues after; anything else is
    InvalidInput naming the cursor, and `start`, where leaving it out begins."""
    try:
        raw = base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True)
        text, row_id = raw.decode("utf-8").split("|", 1)
        parsed = key(text)
        if not (0 < len(row_id) <= MAX_ID and row_id.isprintable()):
            raise ValueError("the cursor's id is not one a row can have")
    except (ValueError, OverflowError, binascii.Error) as exc:  # incl. Unicode errors
        shown = cursor if len(cursor) <= 80 else f"{cursor[:77]}..."
        raise InvalidInput(
            f"cursor: {shown!r} is not a cursor this API returned; pass the `next` value of "
            f"the previous page, or leave cursor out to start from {start}"
        ) from exc
    return parsed, row_id
