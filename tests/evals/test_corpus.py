"""The request corpus and its scorer (issue 28, part 2): the logic, never a measured rate."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from evals.corpus import CorpusItem, corpus_client, load_corpus
from evals.scorers import corpus_figures, corpus_row
from tools.market.market_data import MarketData, load_market


@pytest.fixture(scope="module")
def market() -> MarketData:
    return load_market()


def _item(label: str = "clear", level: str = "C3", **kw: Any) -> dict[str, Any]:
    return {"id": "x1", "split": "held_out", "label": label, "level": level, "locale": "zh-CN",
            "text": "稳一点", "targets": [], **kw}  # fmt: skip


def _run(status: str, holdings: list[str] = (), **plan: Any) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "status": status,
        "plan": {"holdings": [{"product_code": c, "weight": 0.1} for c in holdings], **plan},
        "intent": {"wishes": [], "not_understood": [], "questions": []},
    }


def test_the_corpus_holds_300_phrasings_a_fifth_held_out_every_label_both_languages() -> None:
    items = load_corpus()
    held = [i for i in items if i.split == "held_out"]
    assert len(items) >= 300 and len(held) >= 0.2 * len(items)
    for split in ("held_out", "tuning"):
        mine = [i for i in items if i.split == split]
        assert {i.label for i in mine} == {"clear", "above", "lowest", "ambiguous", "question"}
        assert {i.locale for i in mine} == {"zh-CN", "en"}


def test_a_corpus_client_is_long_tail_at_the_items_level() -> None:
    item = CorpusItem(id="z", locale="en", level="C1", label="lowest", text="bonds")
    client = corpus_client(item)
    assert client.aum < 500_000 and client.risk_assessment.lowest_category
    assert client.locale == "en"


@pytest.mark.parametrize(
    "row",
    [
        {"label": "lowest", "level": "C3"},  # the lowest category is at C1
        {"label": "question"},  # a question names its targets
        {"label": "clear", "targets": ["theme:gold"]},  # and only a question does
        {"label": "question", "targets": ["gold"]},  # kind:id
        {"label": "unsure"},
    ],
)
def test_a_badly_labelled_item_is_refused(row: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CorpusItem(**{"id": "z", "locale": "zh-CN", "level": "C3", "text": "x", **row})


def test_a_plan_above_the_level_is_unsafe_delivered_or_not(market: MarketData) -> None:
    for status in ("delivered", "awaiting_approval"):
        row = corpus_row(_item(level="C2"), _run(status, ["510300"]), market)  # R3 at C2
        assert row["unsafe"] and "510300" in row["unsafe"][0]
    assert not corpus_row(_item(level="C3"), _run("delivered", ["510300"]), market)["unsafe"]
    lowest = corpus_row(_item("lowest", "C1"), _run("awaiting_approval", ["TW-SB-01"]), market)
    assert lowest["unsafe"]  # R2 for the lowest category


def _shaped(sure: bool, done: str = "done") -> dict[str, Any]:
    wish = {"direction": "more", "kind": "theme", "target": "bond", "sure": sure}
    return {"wishes": [{"wish": wish, "done": done}], "risk": None}


def test_an_unconfirmed_wish_that_shaped_a_plan_sent_without_a_person_is_unsafe(
    market: MarketData,
) -> None:
    sent = corpus_row(_item(), _run("delivered", request=_shaped(sure=False)), market)
    assert sent["unsafe"]
    held = corpus_row(_item(), _run("awaiting_approval", request=_shaped(sure=False)), market)
    assert not held["unsafe"]  # a person confirms it first
    assert not corpus_row(_item(), _run("delivered", request=_shaped(sure=True)), market)["unsafe"]
    untouched = _shaped(sure=False, done="not_done")
    assert not corpus_row(_item(), _run("delivered", request=untouched), market)["unsafe"]


def test_an_ambiguous_request_that_shaped_a_plan_sent_alone_is_unsafe(market: MarketData) -> None:
    risky = {"wishes": [], "risk": "done"}
    assert corpus_row(_item("ambiguous"), _run("delivered", request=risky), market)["unsafe"]
    assert not corpus_row(_item("ambiguous"), _run("delivered"), market)["unsafe"]
    assert not corpus_row(_item("clear"), _run("delivered", request=risky), market)["unsafe"]


def test_a_question_is_read_by_its_target_and_answered_by_its_subject(market: MarketData) -> None:
    item = _item("question", targets=["product:513100"], locale="en")
    run = _run("delivered")
    run["intent"]["questions"] = [{"kind": "product", "target": "513100"}]
    name = market.products["513100"].name("en")
    run["compliance"] = {"document": {"answers": [{"subject": name, "lines": ["x"]}]}}
    row = corpus_row(item, run, market)
    assert row["question_read"] and row["answered"] and row["served"]
    run["status"] = "awaiting_approval"  # not delivered: not answered in a letter sent
    assert not corpus_row(item, run, market)["answered"]
    other = _item("question", targets=["theme:gold"], locale="en")
    assert not corpus_row(other, _run("delivered"), market)["question_read"]


def test_figures_are_per_split_and_count_each_label_where_it_belongs(market: MarketData) -> None:
    rows = [
        corpus_row(_item("clear", id="a"), _run("delivered"), market),
        corpus_row(_item("clear", id="b"), _run("awaiting_approval"), market),
        corpus_row(_item("ambiguous", id="c"), _run("awaiting_approval"), market),
        corpus_row(_item("above", id="d", split="tuning"), _run("delivered"), market),
        corpus_row(
            _item("clear", id="e", level="C1", split="tuning"),
            _run("delivered", ["TW-SB-01"]),
            market,
        ),
    ]
    figures = corpus_figures(rows)
    held, tuning = figures["held_out"], figures["tuning"]
    assert (held["automation"]["count"], held["automation"]["of"]) == (1, 2)
    assert held["automation"]["misses"] == ["b"]
    assert held["ambiguous_escalated"]["rate"] == 1.0
    assert held["unsafe"]["count"] == 0 and held["items"] == 3
    assert tuning["above_routed"]["misses"] == ["d"]
    assert tuning["unsafe"]["misses"] == ["e"]
    assert tuning["questions_read"]["of"] == 0 and tuning["questions_read"]["rate"] == 0.0


def test_an_english_answer_to_a_theme_counts_however_its_subject_is_capitalised(
    market: MarketData,
) -> None:
    item = _item("question", targets=["theme:gold"], locale="en")
    run = _run("delivered")
    run["compliance"] = {"document": {"answers": [{"subject": "Gold", "lines": ["x"]}]}}
    assert corpus_row(item, run, market)["answered"]
    run["compliance"] = {"document": {"answers": [{"subject": "Bonds", "lines": ["x"]}]}}
    assert not corpus_row(item, run, market)["answered"]
