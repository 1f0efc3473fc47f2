"""The letter's PDF, read back with poppler: its text is the letter's (CJK intact, from the
Noto CJK font, no box for a missing glyph), and page 1 shows the letter and its coloured chart."""

from __future__ import annotations

from pathlib import Path

import pytest
from letterdoc import page_pixels, pdf_fonts, pdf_text, squeezed
from letters import en_letter, zh_letter

from tools.letter.chart import RISK_COLOURS
from tools.letter.pdf import render_pdf
from tools.letter.text import money, percent, render_text, units_note

FIRMS = {"zh-CN": "Tierwise证券", "en": "Tierwise Securities"}


LETTERS = {"zh-CN": zh_letter(), "en": en_letter()}


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each letter rendered once for the module (WeasyPrint takes a second or two a letter)."""
    out = {}
    for locale, letter in LETTERS.items():
        path = tmp_path_factory.mktemp("pdf") / f"letter-{locale}.pdf"
        path.write_bytes(render_pdf(letter, FIRMS[locale]))
        out[locale] = path
    return out


@pytest.mark.parametrize("locale", LETTERS)
def test_the_pdf_s_text_is_the_letter_s(locale: str, pdfs: dict[str, Path]) -> None:
    letter, path = LETTERS[locale], pdfs[locale]
    assert path.read_bytes().startswith(b"%PDF-")
    found = squeezed(pdf_text(path))
    loc = letter.locale
    # The holdings table: every name, code, weight and amount, and the units where stored.
    for h in letter.holdings:
        for cell in (h.name, h.code, percent(h.weight), money(h.amount, loc)):
            assert squeezed(cell) in found, cell
        assert squeezed(units_note(h, loc)) in found
    # Every other line of the text, word for word (the table's lines are its cells, above).
    table = {h.code for h in letter.holdings}
    for line in render_text(letter).splitlines():
        if line.strip() and not any(f"{code}）" in line or f"{code}):" in line for code in table):
            assert squeezed(line.removeprefix("• ")) in found, line
    assert squeezed(FIRMS[loc]) in found


def test_chinese_comes_out_of_the_cjk_font_and_nothing_else(pdfs: dict[str, Path]) -> None:
    letter, path = LETTERS["zh-CN"], pdfs["zh-CN"]
    fonts = pdf_fonts(path)
    assert fonts and all("Noto-Sans-CJK-SC" in f for f in fonts), fonts  # no fallback font
    found = squeezed(pdf_text(path))
    assert "\ufffd" not in found  # no replacement character for a glyph it could not map
    assert squeezed(letter.rationale) in found and squeezed(letter.greeting) in found


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@pytest.mark.parametrize("locale", LETTERS)
def test_page_one_shows_the_letter_and_the_chart_in_colour(
    locale: str, pdfs: dict[str, Path]
) -> None:
    letter = LETTERS[locale]
    width, height, rgb = page_pixels(pdfs[locale])
    assert len(rgb) == width * height * 3 and height > width  # portrait A4
    targets = {r: _rgb(RISK_COLOURS[r]) for r in {h.risk_rating for h in letter.holdings}}
    rows: dict[str, list[int]] = {r: [] for r in targets}
    inked = 0
    for i in range(0, len(rgb), 3):
        r, g, b = rgb[i], rgb[i + 1], rgb[i + 2]
        inked += min(r, g, b) < 200
        for rating, (tr, tg, tb) in targets.items():
            if abs(r - tr) <= 24 and abs(g - tg) <= 24 and abs(b - tb) <= 24:
                rows[rating].append(i // 3 // width)
    assert inked / (width * height) > 0.02, "page 1 is (nearly) blank"
    for rating, found in rows.items():
        assert len(found) >= 20, f"no {rating} bar on page 1"
        assert max(found) < height * 0.75  # in the chart, above the table: not a stray dot
