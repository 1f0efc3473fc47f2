"""A long-tail client's questions about the shelf through the whole graph (issue 28, part 3):
answered in the letter delivered at once, escalating nothing: the real reader, the real graph."""

from __future__ import annotations

import pytest
from factories import long_tail_client
from test_graph import row, start

from core.schemas.letter import Letter
from graphs.runner import Runner
from tools.letter.text import render_text

ASKED = {
    "zh-CN": ("纳指ETF适合我吗？黄金怎么样？", ["纳指etf适合我吗", "黄金怎么样"]),
    "en": (
        "Is the Nasdaq ETF a good idea for me? What about gold?",
        ["is the nasdaq etf a good idea for me", "what about gold"],
    ),
}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_long_tail_client_s_questions_are_answered_in_the_letter_delivered_at_once(
    runner: Runner, locale: str
) -> None:
    request, phrases = ASKED[locale]

    client = long_tail_client(risk_level="C2", goal="income", locale=locale)
    run_id = start(runner, client, request)
    state = row(runner, run_id)
    intent = state["compliance"]["request"]["intent"]
    questions = [(q["kind"], q["target"]) for q in intent["questions"]]
    assert questions == [("product", "513100"), ("theme", "gold")]
    findings = {f["rule_id"]: f["verdict"] for f in state["compliance"]["findings"]}
    assert state["status"] == "delivered", findings
    assert state["delivery"]["channel"] == "direct" and state["approval"] is None
    assert not {"TW-REQ-01", "CN-MIS-06", "TW-ANS-01", "TW-ANS-02", "TW-NUM-01"} & set(findings)
    # The delivered text is the letter's own, answers and all: what the gate checked.
    letter = Letter.model_validate(state["delivery"]["document"])
    assert render_text(letter) == state["delivery"]["text"]
    nasdaq, gold = letter.answers
    assert [a.question for a in letter.answers] == phrases
    assert nasdaq.subject.startswith(
        "国泰纳斯达克100ETF" if locale == "zh-CN" else "Guotai Nasdaq-100"
    )
    assert ("不适合您" if locale == "zh-CN" else "not suitable for you") in nasdaq.lines[1]
    # Gold is R3, above a C2 client's level: said so, and not held.
    assert gold.subject == ("黄金" if locale == "zh-CN" else "Gold")
    assert ("都高于" if locale == "zh-CN" else "all above") in gold.lines[1]
    held = {h["product_code"] for h in state["plan"]["holdings"] if h["weight"] > 0}
    assert not held & {"513100", "518880", "159934"}
    for line in [*nasdaq.lines, *gold.lines]:
        assert line in state["delivery"]["text"]
    # The client's words are not quoted back as the reader holds them (lower-cased, unpunctuated).
    assert not any(p in state["delivery"]["text"] for p in phrases)
