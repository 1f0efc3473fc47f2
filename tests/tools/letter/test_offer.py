"""The letter's special-care offer (issue 28 part 1): every higher-risk product has its risk
points in both languages; the text and the HTML show the same offer, in one language."""

from __future__ import annotations

import re

import pytest
from letterdoc import article, lines, parse, tag, text, text_lines
from test_special_care_rules import offered

from agents.compliance import compose_letter
from core.schemas.letter import Letter
from tools.compliance.text_checks import TERMS, prohibited
from tools.letter.html import render_html
from tools.letter.offer import risk_points
from tools.letter.text import HEADINGS, render_text
from tools.market.market_data import MarketData

FIRMS = {"zh-CN": "Tierwise证券", "en": "Tierwise Securities"}
LATIN = re.compile(r"[A-Za-z]")
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_r4_r5_product_on_the_shelf_has_risk_points_in_both_languages(
    market: MarketData,
) -> None:
    high = [p for p in market.shelf if p.risk_rating.rank >= 4]
    assert high
    for p in high:
        zh, en = risk_points(p, "zh-CN"), risk_points(p, "en")
        assert zh and len(zh) == len(en), p.code
        assert not any(LATIN.search(point) for point in zh), p.code  # no English in Chinese
        assert not any(CJK.search(point) for point in en), p.code
        for point in (*zh, *en):  # a risk point promises nothing
            assert not any(prohibited(point, rule) for rule in TERMS), point


def _letter(market: MarketData, locale: str) -> Letter:
    """The letter as the check composes it, around a plan with an offer."""
    document = offered(market, locale)
    return compose_letter(document.letter, document, current=[], education=[])


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_offer_has_its_own_numbered_section_with_each_product_s_risks(
    market: MarketData, locale: str
) -> None:
    letter = _letter(market, locale)
    assert letter.offer is not None
    plain = render_text(letter)
    heading = next(line for line in plain.splitlines() if HEADINGS["offer"][locale] in line)
    assert re.match(r"^(?:[一二三四五六]、|\d\. )", heading)
    section = plain[plain.index(heading) :]
    for product in letter.offer.products:
        assert product.name in section
        for point in product.risk_points:
            assert point in section
    assert str(letter.offer.cooling_off_hours) in section
    other = "en" if locale == "zh-CN" else "zh-CN"
    assert HEADINGS["offer"][other] not in plain


def test_the_chinese_offer_reads_as_chinese(market: MarketData) -> None:
    letter = _letter(market, "zh-CN")
    assert letter.offer is not None
    for line in letter.offer.lines:
        # R3 and the like are risk levels as the letter writes them everywhere.
        assert not LATIN.search(re.sub(r"(?<![A-Za-z])R[1-5](?![0-9])", "", line)), line


def test_the_english_offer_reads_as_english(market: MarketData) -> None:
    letter = _letter(market, "en")
    assert letter.offer is not None
    for line in letter.offer.lines:
        assert not CJK.search(line), line


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_html_shows_the_offer_as_the_text_does(market: MarketData, locale: str) -> None:
    letter = _letter(market, locale)
    html = render_html(letter, FIRMS[locale])
    assert lines(html) == text_lines(render_text(letter))
    body = article(parse(html))
    section = next(e for e in body.iter() if e.get("id") == "letter-offer")
    codes = [e.get("data-code") for e in section.iter() if tag(e) == "li"]
    assert letter.offer is not None
    assert codes == [o.code for o in letter.offer.products]
    assert HEADINGS["offer"][locale] in text(section)
