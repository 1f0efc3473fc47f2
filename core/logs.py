"""Logging that never writes sensitive data: every record is masked as it is created."""

from __future__ import annotations

import logging
from typing import Any

from tools.masking import mask_text

_installed = False


def _mask(value: Any) -> Any:
    return mask_text(value) if isinstance(value, str) else value


def install_log_masking() -> None:
    """Mask ID numbers, cards, mobiles, emails and SSNs in every log record of this process."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        # Mask the message and each argument in place: formatters such as uvicorn's access
        # log unpack record.args, so its shape must stay.
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_mask(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _mask(v) for k, v in record.args.items()}
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
