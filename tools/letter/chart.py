"""The allocation chart: a server-rendered SVG of the plan's weights, one bar per holding,
coloured by risk rating, with every name and share written beside its bar (no script)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from core.schemas.letter import HoldingLine
from tools.letter.text import percent

WIDTH = 640
BAR_SPAN = 560  # the longest bar; the others are shorter in proportion to their weights
LEGEND_HEIGHT = 30
ROW_HEIGHT = 38
# Cool to warm with the risk rating; an unknown rating is grey rather than a guess.
RISK_COLOURS = {
    "R1": "#2f8f6b",
    "R2": "#3f7fbf",
    "R3": "#d9a21b",
    "R4": "#e06c2a",
    "R5": "#b8322a",
}
OTHER_COLOUR = "#8a8f98"
WORDS = {
    "title": {"zh-CN": "资产配置", "en": "Your allocation"},
    "legend": {"zh-CN": "风险等级", "en": "Risk level"},
}

_env = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,  # names and codes are data: never markup
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Bar:
    code: str
    label: str
    share: str
    weight: float
    rating: str
    colour: str
    y: float
    width: float


def label(h: HoldingLine, locale: str) -> str:
    return f"{h.name}（{h.code}）" if locale == "zh-CN" else f"{h.name} ({h.code})"


def bars(holdings: list[HoldingLine], locale: str) -> list[Bar]:
    """Largest first (then by code, so equal weights always come out in one order)."""
    ordered = sorted(holdings, key=lambda h: (-h.weight, h.code))
    top = max((h.weight for h in ordered), default=0.0)
    scale = BAR_SPAN / top if top > 0 else 0.0
    return [
        Bar(
            code=h.code,
            label=label(h, locale),
            share=percent(h.weight),
            weight=h.weight,
            rating=h.risk_rating,
            colour=RISK_COLOURS.get(h.risk_rating, OTHER_COLOUR),
            y=LEGEND_HEIGHT + i * ROW_HEIGHT,
            width=round(h.weight * scale, 2),
        )
        for i, h in enumerate(ordered)
    ]


def allocation_svg(holdings: list[HoldingLine], locale: str, key: str = "allocation") -> Markup:
    """The chart as inline SVG; `key` prefixes its element ids (unique within one page)."""
    drawn = bars(holdings, locale)
    ratings = sorted({b.rating for b in drawn})
    separator = "；" if locale == "zh-CN" else "; "
    return Markup(
        _env.get_template("chart.svg").render(
            key=key,
            bars=drawn,
            legend=[(r, RISK_COLOURS.get(r, OTHER_COLOUR)) for r in ratings],
            title=WORDS["title"][locale],
            legend_title=WORDS["legend"][locale],
            desc=separator.join(f"{b.label} {b.share}" for b in drawn),
            width=WIDTH,
            height=LEGEND_HEIGHT + len(drawn) * ROW_HEIGHT + 4,
            span=BAR_SPAN,
        )
    )
