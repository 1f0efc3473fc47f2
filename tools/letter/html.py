"""The letter as HTML: the sections of `render_text`, in its words, laid out as a firm's letter.

Every line under a heading is made by the text's own helpers, so the HTML can say nothing the
text does not; what it adds is layout and labels (the letterhead, the table's column names, the
chart). Autoescaped throughout: nothing a model writes can become markup. No script, and nothing
fetched: fonts are the machine's (Noto CJK), the chart is inline SVG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from core.schemas.letter import Letter
from core.settings import Settings
from tools.letter.chart import allocation_svg
from tools.letter.text import (
    ANSWERED,
    BULLET,
    answer_head,
    headings,
    lesson_parts,
    money,
    note_parts,
    offer_product_line,
    percent,
    risk_point_line,
    rounding_note,
    signature_lines,
    trade_line,
    units_note,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Labels of the layout, not statements: the text has no columns or letterhead to name.
LABELS: dict[str, dict[str, str]] = {
    "document": {"zh-CN": "投资方案建议书", "en": "Your investment plan"},
    "name": {"zh-CN": "产品名称", "en": "Product"},
    "code": {"zh-CN": "代码", "en": "Code"},
    "risk": {"zh-CN": "风险等级", "en": "Risk level"},
    "weight": {"zh-CN": "占比", "en": "Weight"},
    "amount": {"zh-CN": "金额", "en": "Amount"},
}
STYLE = Markup((TEMPLATES / "letter.css").read_text(encoding="utf-8"))

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def firm_name(settings: Settings, locale: str) -> str:
    return settings.firm_name_zh if locale == "zh-CN" else settings.firm_name_en


def _paragraphs(text: str) -> list[str]:
    """A line of the text is a paragraph of the page: a break in a model's prose stays one."""
    return [p for p in text.split("\n") if p.strip()]


def _offer(letter: Letter) -> dict[str, Any] | None:
    """The offer as the text words it: its first line, each product with its risk points, then
    the rest (figures, cooling-off, how to accept)."""
    if letter.offer is None:
        return None
    loc = letter.locale
    first, *rest = letter.offer.lines
    return {
        "intro": first,
        "products": [
            {
                "code": o.code,
                "line": offer_product_line(o, loc).removeprefix(BULLET),
                "points": [
                    risk_point_line(p, loc).strip().removeprefix("- ") for p in o.risk_points
                ],
            }
            for o in letter.offer.products
        ],
        "rest": rest,
    }


def _context(letter: Letter, firm: str) -> dict[str, Any]:
    """What the template shows, each line made as `render_text` makes it."""
    loc = letter.locale
    return {
        "locale": loc,
        "firm": firm,
        "labels": {key: words[loc] for key, words in LABELS.items()},
        "headings": headings(letter),
        "rounded": rounding_note(letter),
        "greeting": letter.greeting,
        "opening": _paragraphs(letter.opening),
        "chart": allocation_svg(letter.holdings, loc) if letter.holdings else None,
        "holdings": [
            {
                "name": h.name,
                "code": h.code,
                "risk": h.risk_rating,
                "weight": percent(h.weight),
                "amount": money(h.amount, loc),
                "units": units_note(h, loc).strip(),
            }
            for h in letter.holdings
        ],
        "trades": [
            {"side": t.side, "line": trade_line(t, loc).removeprefix(BULLET)} for t in letter.trades
        ],
        "rationale": _paragraphs(letter.rationale),
        "answer": [p for item in letter.answer for p in _paragraphs(item)],
        "answers": [(answer_head(a, loc), a.lines) for a in letter.answers],
        "answered": ANSWERED[loc],
        "offer": _offer(letter),
        "education": [lesson_parts(x, loc) for x in letter.education],
        "research": [note_parts(n, loc) for n in letter.research],
        "disclosures": [p for item in letter.disclosures for p in _paragraphs(item)],
        "signature": signature_lines(letter.signature, loc) if letter.signature else [],
    }


def letter_body(letter: Letter, firm: str) -> Markup:
    """The letter as one <article>, for a page of its own or inside another (the inbox);
    it needs STYLE on the same page."""
    return Markup(_env.get_template("letter_body.html").render(**_context(letter, firm)))


def render_html(letter: Letter, firm: str) -> str:
    """The whole letter as a standalone HTML document: what the client is sent."""
    return _env.get_template("letter.html").render(
        locale=letter.locale,
        title=f"{firm} · {LABELS['document'][letter.locale]}",
        style=STYLE,
        body=letter_body(letter, firm),
    )
