"""The letter's HTML says what its text says, section by section, in the client's language;
model text stays text; nothing is fetched."""

from __future__ import annotations

import re

import pytest
from letterdoc import article, classes, lines, parse, tag, text, text_lines
from letters import en_letter, zh_letter

from core.schemas.letter import AnswerLine, Letter
from tools.letter.html import LABELS, letter_body, render_html
from tools.letter.text import HEADINGS, render_text

FIRMS = {"zh-CN": "Tierwise证券", "en": "Tierwise Securities"}
SECTIONS = [
    "holdings", "trades", "rationale", "answer", "answers", "education", "research", "disclosures",
]  # fmt: skip


@pytest.mark.parametrize("letter", [zh_letter(), en_letter()], ids=["zh-CN", "en"])
def test_the_html_shows_every_line_of_the_text_and_nothing_else(letter: Letter) -> None:
    html = render_html(letter, FIRMS[letter.locale])
    assert lines(html) == text_lines(render_text(letter))


@pytest.mark.parametrize("letter", [zh_letter(), en_letter()], ids=["zh-CN", "en"])
def test_every_section_is_there_in_order_in_the_client_s_language(letter: Letter) -> None:
    loc = letter.locale
    root = parse(render_html(letter, FIRMS[loc]))
    assert root.get("lang") == loc
    body = article(root)
    assert body.get("lang") == loc
    headings = [text(e) for e in body.iter() if tag(e) == "h2"]
    # Every section is there, so the numbered ones count 1-7 and the disclosures are not numbered.
    zh = [f"{n}、" for n in "一二三四五六七"]
    numbers = zh if loc == "zh-CN" else [f"{n}. " for n in range(1, 8)]
    expected = [number + HEADINGS[key][loc] for number, key in zip(numbers, SECTIONS, strict=False)]
    assert headings == [*expected, *(HEADINGS[key][loc] for key in SECTIONS[7:])]
    title = next(e for e in root.iter() if tag(e) == "title")
    assert text(title) == f"{FIRMS[loc]} · {LABELS['document'][loc]}"
    head = next(e for e in body.iter() if "letterhead" in classes(e))
    assert FIRMS[loc] in text(head)
    columns = [text(e) for e in body.iter() if tag(e) == "th"]
    assert columns == [LABELS[k][loc] for k in ("name", "code", "risk", "weight", "amount")]
    rows = [e for e in body.iter() if tag(e) == "tr" and e.get("data-code")]
    assert [r.get("data-code") for r in rows] == [h.code for h in letter.holdings]
    signature = next(e for e in body.iter() if e.get("id") == "letter-signature")
    assert letter.signature is not None and letter.signature.registration in text(signature)
    # The other language's labels are nowhere: one letter, one language.
    other = "en" if loc == "zh-CN" else "zh-CN"
    shown = text(root)
    for words in (*HEADINGS.values(), *LABELS.values()):
        assert words[other] not in shown


def test_a_line_break_in_a_section_is_a_break_on_the_page() -> None:
    letter = en_letter(
        opening="First line.\nSecond line.",
        rationale="Why, one.\n\nWhy, two.",
        answer=["About your request:\nmore gold: done.", "Cash: kept."],
        disclosures=["Risk one.\nRisk two."],
    )
    shown = lines(render_html(letter, FIRMS["en"]))
    assert shown == text_lines(render_text(letter))
    assert "About your request:" in shown and "Risk two." in shown


def test_an_empty_section_is_left_out_as_in_the_text() -> None:
    letter = zh_letter(trades=[], answer=[], answers=[], education=[], research=[], signature=None)
    html = render_html(letter, FIRMS["zh-CN"])
    assert lines(html) == text_lines(render_text(letter))
    ids = {e.get("id") for e in article(parse(html)).iter()}
    for key in ("trades", "answer", "answers", "education", "research", "signature"):
        assert f"letter-{key}" not in ids


INJECTED = '<script>alert("x")</script><img src=x onerror=alert(1)><b>bold</b> & "quotes"'


def test_nothing_a_model_writes_becomes_markup() -> None:
    letter = en_letter(
        greeting=f"Dear {INJECTED},",
        opening=INJECTED,
        rationale=f"</p></article>{INJECTED}",
        answer=[INJECTED],
        # The client's own words, quoted back in the answer to their question.
        answers=[AnswerLine(question=INJECTED, subject="Gold", lines=["Fees: none."])],
    )
    html = render_html(letter, FIRMS["en"])
    root = parse(html)
    tags = {tag(e) for e in root.iter()}
    assert not tags & {"script", "img", "b"}
    assert not any(k.startswith("on") for e in root.iter() for k in e.attrib)
    assert lines(html) == text_lines(render_text(letter))  # shown as the text it is
    assert INJECTED in text(article(root))


def test_the_page_loads_nothing_from_anywhere() -> None:
    html = render_html(zh_letter(), FIRMS["zh-CN"])
    assert not re.search(r"\b(src|href)\s*=|url\(|@import|<script|<link", html, re.I)
    assert "Noto Sans CJK SC" in html  # the machine's CJK font, named first


def test_the_embeddable_article_is_the_page_s_own() -> None:
    letter = en_letter()
    assert str(letter_body(letter, FIRMS["en"])) in render_html(letter, FIRMS["en"])
