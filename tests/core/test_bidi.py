"""The order a screen shows a line in (core/bidi.py), on the cases masking depends on."""

from __future__ import annotations

import unicodedata

import pytest

from core.bidi import display_order


def shown(text: str) -> str:
    """The text in display order, its bidi controls left out."""
    classes = [unicodedata.bidirectional(c) for c in text]
    return "".join(text[k] for k in display_order(classes) if unicodedata.category(text[k]) != "Cf")


@pytest.mark.parametrize(
    ("text", "screen"),
    [
        pytest.param("tel \u202e87654321931\u202c ok", "tel 13912345678 ok", id="override"),
        pytest.param("tel \u200f5678 1234 139 ok", "tel 139 1234 5678 ok", id="groups-after-rlm"),
        pytest.param("\u202e\u202d13912345678\u202c\u202c", "13912345678", id="lro-in-rlo"),
        pytest.param("\u202e\u206613912345678\u2069\u202c", "13912345678", id="isolate-in-rlo"),
        pytest.param("a \u2067139 1234\u2069 b", "a 1234 139 b", id="rtl-isolate"),
        pytest.param("\u202e8765\t4321\u202c", "1234\t5678", id="tab-in-override"),
        pytest.param("\u202e4321\u202c\n\u202e8765\u202c", "1234\n5678", id="lines-apart"),
        pytest.param("١٣٩١٢٣٤٥٦٧٨", "١٣٩١٢٣٤٥٦٧٨", id="arabic-indic-digits"),
        pytest.param("plain 139 1234 5678", "plain 139 1234 5678", id="left-to-right"),
    ],
)
def test_a_line_shows_as_a_bidi_aware_screen_shows_it(text: str, screen: str) -> None:
    assert shown(text) == screen
