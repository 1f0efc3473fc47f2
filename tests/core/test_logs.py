"""Logs never carry sensitive data."""

from __future__ import annotations

import logging

import pytest

from core.logs import install_log_masking


def test_every_log_record_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    install_log_masking()
    log = logging.getLogger("tierwise.test")
    with caplog.at_level(logging.INFO):
        log.info("client %s called from %s", "11010519491231002X", "13912345678")
        log.warning("card 6222021234567894, mail w@example.com")
    text = caplog.text
    for raw in ("11010519491231002X", "13912345678", "6222021234567894", "w@example.com"):
        assert raw not in text
    assert "110105********002X" in text and "139****5678" in text
    assert "6222 **** **** 7894" in text and "w***@example.com" in text


def test_installing_twice_masks_once(caplog: pytest.LogCaptureFixture) -> None:
    install_log_masking()
    install_log_masking()
    with caplog.at_level(logging.INFO):
        logging.getLogger("tierwise.test").info("13912345678")
    assert caplog.records[-1].getMessage() == "139****5678"
