"""Logs never carry sensitive data."""

from __future__ import annotations

import logging

import pytest

from core.logs import MAX_LOGGED_CHARS, install_log_masking, mask_logged


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


class Collected(logging.Handler):
    """The records a logger emits, whatever propagation a live server's log config left."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_url_encoded_values_in_access_logs_are_masked() -> None:
    install_log_masking()
    path = "/v1/clients/%2B86%20139%201234%205678?q=139%2F1234%2F5678&id=110105%2019491231%20002X"
    collected = Collected()
    loggers = [logging.getLogger("uvicorn.access"), logging.getLogger("tierwise.test")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(collected)
        logger.setLevel(logging.INFO)
    try:
        # uvicorn's access line: the path as sent, with its query string
        loggers[0].info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", "GET", path, "1.1", 404)
        loggers[1].info("GET /v1/runs?q=%E7%94%B5%E8%AF%9D13912345678")
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(collected)
            logger.setLevel(level)
    line, plain = (r.getMessage() for r in collected.records)
    assert "1234" not in line and "19491231" not in line and "%2B86" not in line
    assert line.count("139****5678") == 2 and "110105********002X" in line
    assert line.startswith('127.0.0.1:50000 - "GET /v1/clients/') and line.endswith('" 404')
    assert plain == "GET /v1/runs?q=电话139****5678"


def test_a_format_string_is_never_url_decoded(caplog: pytest.LogCaptureFixture) -> None:
    install_log_masking()
    with caplog.at_level(logging.INFO):
        logging.getLogger("tierwise.test").info("%2d%% of %s", 5, "x%20y")
    assert caplog.records[-1].getMessage() == " 5% of x%20y"


def test_a_huge_logged_value_is_cut_before_it_is_masked() -> None:
    huge = "/v1/clients/" + "1%20" * 20_000 + "13912345678"
    logged = mask_logged(huge)
    assert len(logged) <= MAX_LOGGED_CHARS + len("…[truncated]")
    assert logged.endswith("…[truncated]")
