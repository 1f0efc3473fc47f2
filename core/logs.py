"""Logging that never writes sensitive data: every record is masked as it is created."""

from __future__ import annotations

import logging
from typing import Any

from tools.masking import mask_text

_installed = False


def install_log_masking() -> None:
    """Mask ID numbers, cards, mobiles, emails and SSNs in every log record of this process."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record  # a malformed call: leave it for logging to report
        record.msg, record.args = mask_text(message), ()
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
