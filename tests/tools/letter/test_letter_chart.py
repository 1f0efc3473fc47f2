"""The allocation chart, read back as SVG: bars in proportion to the weights, every holding
named with its share, coloured by risk rating, accessible, and the same every time."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET

import pytest
from letters import holdings

from core.schemas.letter import HoldingLine
from tools.letter.chart import BAR_SPAN, OTHER_COLOUR, RISK_COLOURS, allocation_svg, label
from tools.letter.text import percent

SVG = "{http://www.w3.org/2000/svg}"


def svg(lines: list[HoldingLine], locale: str = "zh-CN") -> ET.Element:
    return ET.fromstring(str(allocation_svg(lines, locale)))  # well-formed XML, or this fails


def drawn(root: ET.Element) -> dict[str, dict[str, ET.Element]]:
    """Each holding's group, by code: its label, bar and share."""
    out = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class") != "holding":
            continue
        parts = {e.get("class", ""): e for e in group}
        out[str(group.get("data-code"))] = parts
    return out


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_bars_are_in_proportion_to_the_weights(locale: str) -> None:
    lines = holdings(locale)
    groups = drawn(svg(lines, locale))
    widths = {code: float(parts["bar"].get("width", "")) for code, parts in groups.items()}
    weights = {h.code: h.weight for h in lines}
    assert widths.keys() == weights.keys()
    scale = BAR_SPAN / max(weights.values())  # the largest fills the span
    for code, weight in weights.items():
        assert abs(widths[code] - weight * scale) <= 0.005  # drawn to 0.01 of a pixel
    tops = [float(parts["bar"].get("y", "")) for parts in groups.values()]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)  # one row each, largest first
    assert [weights[c] for c in groups] == sorted(weights.values(), reverse=True)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_holding_is_labelled_with_its_name_and_share(locale: str) -> None:
    lines = holdings(locale)
    root = svg(lines, locale)
    groups = drawn(root)
    for h in lines:
        parts = groups[h.code]
        assert parts["label"].text == label(h, locale) and h.name in label(h, locale)
        assert parts["share"].text == percent(h.weight)
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text
    for h in lines:
        assert f"{label(h, locale)} {percent(h.weight)}" in desc.text


def test_colours_follow_the_risk_rating_with_a_legend() -> None:
    lines = holdings("zh-CN")
    root = svg(lines)
    groups = drawn(root)
    for h in lines:
        assert groups[h.code]["bar"].get("fill") == RISK_COLOURS[h.risk_rating]
    assert len(set(RISK_COLOURS.values())) == len(RISK_COLOURS)
    swatches = {
        e.get("data-rating"): e.get("fill")
        for e in root.iter(f"{SVG}rect")
        if e.get("class") == "swatch"
    }
    assert swatches == {h.risk_rating: RISK_COLOURS[h.risk_rating] for h in lines}
    odd = [lines[0].model_copy(update={"risk_rating": "R?"})]
    assert drawn(svg(odd))[lines[0].code]["bar"].get("fill") == OTHER_COLOUR


def test_it_is_an_image_with_a_title_and_description() -> None:
    root = svg(holdings("en"), "en")
    assert root.get("role") == "img"
    labelled = str(root.get("aria-labelledby")).split()
    ids = {e.get("id"): e for e in root.iter() if e.get("id")}
    assert [ids[i].tag for i in labelled] == [f"{SVG}title", f"{SVG}desc"]
    assert ids[labelled[0]].text == "Your allocation"


def test_the_same_holdings_draw_the_same_chart_in_any_order() -> None:
    lines = holdings("zh-CN")
    shuffled = lines[:]
    random.Random(7).shuffle(shuffled)
    assert allocation_svg(lines, "zh-CN") == allocation_svg(shuffled, "zh-CN")
    tied = [h.model_copy(update={"weight": 0.1}) for h in lines]  # ties break by code
    codes = list(drawn(svg(tied)))
    assert codes == sorted(codes)


def test_names_stay_text() -> None:
    name = '<script>x</script> & "A"'
    line = HoldingLine(code="X1", name=name, risk_rating="R2", weight=1.0, amount=100)
    root = svg([line], "en")
    assert drawn(root)["X1"]["label"].text == f"{name} (X1)"
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter("script"))
