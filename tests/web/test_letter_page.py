"""The client's letter page in real headless Chromium: Chinese drawn in the CJK font, nothing
wider than the page, on a screen and a phone; screenshots of both languages for the record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from inboxhelp import CHROMIUM
from letters import en_letter, zh_letter
from playwright.sync_api import Browser, sync_playwright

from tools.letter.html import render_html

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
LETTERS = {"zh-CN": (zh_letter(), "Tierwise证券"), "en": (en_letter(), "Tierwise Securities")}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.mark.parametrize("locale", LETTERS)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_letter_fits_the_page_in_the_cjk_font(
    browser: Browser, locale: str, width: int
) -> None:
    letter, firm = LETTERS[locale]
    page = browser.new_page(viewport={"width": width, "height": 900})
    refused: list[str] = []
    page.on("requestfailed", lambda request: refused.append(request.url))
    page.on("request", lambda request: refused.append(request.url))
    page.set_content(render_html(letter, firm))
    assert refused == []  # it asks for nothing: no font, image or script from anywhere
    assert page.evaluate("() => document.fonts.check('16px \"Noto Sans CJK SC\"', '配置方案')")
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than a {width}px screen"
    article = page.locator("article.letter").bounding_box()
    table = page.locator("table.holdings").bounding_box()
    chart = page.locator("svg.allocation-chart").bounding_box()
    assert article and table and chart
    assert table["width"] <= article["width"] and chart["width"] <= article["width"]
    assert chart["height"] > 100
    # The answers to the client's questions: every fact shown, inside the page's width.
    answers = page.locator("#letter-answers").bounding_box()
    assert answers and answers["width"] <= article["width"]
    facts = [line for a in letter.answers for line in a.lines]
    assert page.locator("#letter-answers li").all_inner_texts() == facts
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"letter-{locale}-{width}.png"), full_page=True)
    page.close()
