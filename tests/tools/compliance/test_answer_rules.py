"""The rules on the answers to a client's questions (issue 28, part 3): TW-ANS-01 (no promise,
forecast or recommendation beyond the plan) and TW-ANS-02 (never calls an above-level product
suitable) read the answers as the client receives them; the number rule knows their figures;
and a question, unlike a doubt, escalates nothing by itself."""

from __future__ import annotations

import pytest
from compliance_helpers import context, fired, hits, plan, profile, with_text

from core.schemas.request import Question, RequestIntent
from tools.compliance.engine import RuleContext
from tools.compliance.rulebook import shipped_rules
from tools.letter.answers import say
from tools.letter.text import BULLET, answer_parts
from tools.market.intent import lexicon_for
from tools.market.market_data import load_market

MARKET = load_market()
RULES = shipped_rules()
WEIGHTS = {"TW-MM-01": 0.10, "511260": 0.40, "518880": 0.15, "510300": 0.25, "511010": 0.10}
LOCALES = ["zh-CN", "en"]
ANSWER_RULES = {"TW-ANS-01", "TW-ANS-02", "TW-NUM-01", "TW-REQ-01", "CN-MIS-06"}


def ask(kind: str, target: str, words: str = "") -> Question:
    return Question(kind=kind, target=target, phrase=words, term=words)  # type: ignore[arg-type]


def asked(*questions: Question) -> RequestIntent:
    return RequestIntent(questions=list(questions), readers=["lexicon"])


def ctx_for(locale: str, *questions: Question, level: str = "C3", **changes: object) -> RuleContext:
    prof = profile(MARKET, risk_level=level, locale=locale).model_copy(update=changes)
    weights = {"TW-MM-01": 0.5, "511990": 0.5} if changes.get("lowest_category") else WEIGHTS
    intent = asked(*questions) if questions else None
    return context(prof, plan(weights, prof, MARKET), MARKET, intent=intent)


def with_fact(ctx: RuleContext, subject: str, fact: str) -> RuleContext:
    """The same letter with one more fact under the answer about `subject`."""
    lines = ctx.client_text.split("\n")
    heads = (f"【{subject}】", f"{subject} (you asked", subject)
    at = next(i for i, line in enumerate(lines) if line.startswith(heads) and line[:1] != "•") + 1
    return with_text(ctx, "\n".join([*lines[:at], BULLET + fact, *lines[at:]]), ctx.letter)


@pytest.mark.parametrize("locale", LOCALES)
def test_questions_add_no_finding_and_escalate_nothing(locale: str) -> None:
    plain = ctx_for(locale)
    questions = [
        ask("product", "513100", "纳指etf适合我吗"),
        ask("product", "510300", "沪深300怎么样"),
        ask("product", "159919"),
        ask("theme", "gold", "黄金怎么样"),
        ask("theme", "equity"),
    ]
    answered = ctx_for(locale, *questions)
    assert len(answer_parts(answered.client_text, locale)) == 5
    assert fired(RULES, answered) == fired(RULES, plain)
    assert not ANSWER_RULES & set(hits(RULES, answered))


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    ("level", "changes"),
    [("C1", {"lowest_category": True}), ("C3", {}), ("C5", {"qualified_investor": True})],
)
def test_no_answer_about_anything_on_the_shelf_trips_a_text_rule(
    locale: str, level: str, changes: dict[str, object]
) -> None:
    """Every product and theme, asked five at a time: its figures are the shelf's and the plan's
    (TW-NUM-01), its words promise nothing (TW-ANS-01) and call nothing above the level suitable
    (TW-ANS-02), in both languages, at the lowest level, in the middle and at the top."""
    targets = [("product", p.code) for p in MARKET.shelf]
    targets += [("theme", t) for t in lexicon_for(MARKET).themes]
    text_rules = {"TW-ANS-01", "TW-ANS-02", "TW-NUM-01", "LANG-01", "LANG-02", "LANG-03"}
    text_rules |= {"LANG-04", "LANG-06", "LANG-08", "TW-TXT-01", "TW-TXT-02"}
    for start in range(0, len(targets), 5):
        questions = [ask(kind, target) for kind, target in targets[start : start + 5]]
        ctx = ctx_for(locale, *questions, level=level, **changes)
        assert len(answer_parts(ctx.client_text, locale)) == len(questions)
        assert not text_rules & set(hits(RULES, ctx)), targets[start : start + 5]


@pytest.mark.parametrize(
    ("locale", "promise"),
    [
        ("zh-CN", "预计明年会上涨。"),
        ("zh-CN", "这只基金稳赚不赔。"),
        ("zh-CN", "建议您买入。"),
        ("en", "It is expected to gain next year."),
        ("en", "It will rise with the US market."),
        ("en", "We recommend buying it."),
    ],
)
def test_an_answer_that_promises_or_forecasts_is_blocked(locale: str, promise: str) -> None:
    ctx = ctx_for(locale, ask("product", "510300"))
    subject = MARKET.products["510300"].name(locale)
    found = hits(RULES, with_fact(ctx, subject, promise))
    assert found["TW-ANS-01"] == "block"


@pytest.mark.parametrize(
    ("locale", "fine"),
    [
        ("zh-CN", "这不是对它未来表现的预测，本方案不建议您买入。"),
        ("en", "It is not expected to gain."),
    ],
)
def test_a_negated_forecast_is_no_promise(locale: str, fine: str) -> None:
    ctx = ctx_for(locale, ask("product", "510300"))
    subject = MARKET.products["510300"].name(locale)
    assert "TW-ANS-01" not in hits(RULES, with_fact(ctx, subject, fine))


SUITS = {"zh-CN": "它适合您。", "en": "It is suitable for you."}
UNSUITED = {"zh-CN": "它不适合您。", "en": "It is not suitable for you."}


@pytest.mark.parametrize("locale", LOCALES)
def test_an_answer_calling_an_above_level_product_suitable_is_blocked(locale: str) -> None:
    ctx = ctx_for(locale, ask("product", "513100"), ask("product", "510300"))
    above = MARKET.products["513100"].name(locale)
    within = MARKET.products["510300"].name(locale)
    assert hits(RULES, with_fact(ctx, above, SUITS[locale]))["TW-ANS-02"] == "block"
    # Said of a product within the level, or said the other way, it is no finding.
    assert "TW-ANS-02" not in hits(RULES, with_fact(ctx, within, SUITS[locale]))
    assert "TW-ANS-02" not in hits(RULES, with_fact(ctx, above, UNSUITED[locale]))


@pytest.mark.parametrize("locale", LOCALES)
def test_the_answers_own_within_the_level_line_under_an_above_level_product_is_blocked(
    locale: str,
) -> None:
    """The words an answer uses for a product within the level are the words TW-ANS-02 refuses
    under one above it: a mix-up in the answers' code could not go out."""
    within = say("level_within", locale, rating="R4", scale=say("scale", locale), level="C3")
    ctx = ctx_for(locale, ask("product", "513100"))
    above = MARKET.products["513100"].name(locale)
    assert hits(RULES, with_fact(ctx, above, within))["TW-ANS-02"] == "block"


@pytest.mark.parametrize("locale", LOCALES)
def test_in_a_theme_s_answer_a_sentence_naming_an_above_level_product_may_not_call_it_suitable(
    locale: str,
) -> None:
    ctx = ctx_for(locale, ask("theme", "equity"))
    subject = "股票类资产" if locale == "zh-CN" else "Equities"
    nasdaq = MARKET.products["513100"].name(locale)
    claim = f"{nasdaq}适合您。" if locale == "zh-CN" else f"{nasdaq} is a good fit for you."
    assert hits(RULES, with_fact(ctx, subject, claim))["TW-ANS-02"] == "block"
    # A theme whose products are all above the level: any claim in its answer counts.
    overseas = ctx_for(locale, ask("theme", "overseas"))
    name = "海外资产" if locale == "zh-CN" else "Overseas assets"
    assert hits(RULES, with_fact(overseas, name, SUITS[locale]))["TW-ANS-02"] == "block"


@pytest.mark.parametrize("locale", LOCALES)
def test_a_figure_in_an_answer_must_be_the_shelf_s_or_the_plan_s(locale: str) -> None:
    ctx = ctx_for(locale, ask("product", "513100", "拿30万买纳指etf合适吗"))
    subject = MARKET.products["513100"].name(locale)
    # The client's own figure (30万) is theirs: not quoted back, and not read as the answer's.
    assert "30万" not in ctx.client_text
    assert "TW-NUM-01" not in hits(RULES, ctx)
    made_up = "它去年涨了37.5%。" if locale == "zh-CN" else "It returned 37.5% last year."
    assert "TW-NUM-01" in hits(RULES, with_fact(ctx, subject, made_up))


@pytest.mark.parametrize("locale", LOCALES)
def test_words_that_would_read_as_the_letter_s_promise_are_answered_unquoted(locale: str) -> None:
    ctx = ctx_for(locale, ask("product", "510300", "沪深300稳赚吗"))
    (part,) = answer_parts(ctx.client_text, locale)
    assert part[0] == MARKET.products["510300"].name(locale)
    assert "稳赚" not in ctx.client_text
    assert not {"LANG-02", "TW-ANS-01"} & set(hits(RULES, ctx))
