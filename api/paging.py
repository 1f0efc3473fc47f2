"""List pages under a byte budget (TIERWISE_MAX_PAGE_BYTES), so no response holds more memory
than that while it waits for its client, whatever `limit` asks for.

A page stops before the item that would take its body past the budget, and its `next` is the
cursor after the last item it holds, so the page after it starts at the first one left out:
nothing is lost or shown twice. An item larger than the budget is a page of its own. The body
is rendered here, once, from each item's own JSON, which is also how it is measured.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel

# Kept for the envelope: `{"items":[...],"next":"<cursor>"}` and any fields beside them. The
# cursors core.services.cursors writes for every list are well under it.
ENVELOPE_BYTES = 512


def paged(
    entries: Iterable[tuple[BaseModel, str]], more: str | None, budget: int, **fields: Any
) -> Response:
    """The page of `entries` (each item with the cursor after it) that fits in `budget` bytes,
    as a JSON response `{"items", "next", **fields}`; `more` is the next page's cursor when
    they all fit. Items are built lazily: none past the first left out."""
    envelope = len(json.dumps(fields, ensure_ascii=False).encode())
    room = budget - ENVELOPE_BYTES - envelope
    parts: list[bytes] = []
    after: str | None = None
    for item, cursor in entries:
        body = item.model_dump_json(by_alias=True).encode()
        room -= len(body) + 1  # and its comma
        if parts and room < 0:
            more = after
            break
        parts.append(body)
        after = cursor
    tail = json.dumps({"next": more, **fields}, ensure_ascii=False, separators=(",", ":"))
    content = b'{"items":[' + b",".join(parts) + b"]," + tail[1:].encode()
    return Response(content, media_type="application/json")
