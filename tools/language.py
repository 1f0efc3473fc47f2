"""Text rules: prohibited language with negation (LANG-01..08), grounded numbers (TW-NUM-01)
and unmasked personal data (PII-01..05), in Chinese and English."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tools.masking import find_sensitive
from tools.rules import Hit, RuleContext, evaluator

# LANG-05: disclaimers that contain a prohibited term but negate it. They are recognised first
# and blanked out, so the terms inside them never fire.
DISCLAIMERS = re.compile(
    r"本公司不以任何方式向您做出不受损失或者取得最低收益的承诺|不承诺保本保收益|不保证收益|"
    r"不保证本金|不保本|并非保本|非保本|不代表实际收益|不构成收益承诺|"
    r"(?:is|are) not guaranteed|not guaranteed|no guarantee(?:s)?(?: against loss)?|"
    r"does not guarantee|do not guarantee|not a promise of returns|not risk[- ]free",
    re.IGNORECASE,
)
TERMS = {
    "LANG-01": re.compile(
        r"保本保息|保本|保证本金|本金无忧|确保本金[^，。]{0,6}不受损失|零风险|无风险|100%安全|绝对安全|"
        r"capital[- ]guaranteed|guaranteed capital|principal[- ]guaranteed|risk[- ]free|"
        r"can(?:'|no)t lose|zero risk",
        re.IGNORECASE,
    ),
    "LANG-02": re.compile(
        r"保收益|保证收益|承诺收益|稳赚不赔|稳赚|包赚|最低收益\s*\d*(?:\.\d+)?%?|保底收益|刚性兑付|"
        r"固定回报|保证[^，。]{0,4}回报|"
        r"guaranteed (?:returns?|income|yield|profits?|\d+(?:\.\d+)?%)|"
        r"guarantees? (?:an? )?(?:return|profit)|promised returns?",
        re.IGNORECASE,
    ),
    "LANG-03": re.compile(
        r"一定会涨|肯定上涨|肯定会涨|必涨|必然上涨|必然|稳涨|翻倍|下月涨\s*\d+%|(?:将|会)涨到\s*\d+|"
        r"will definitely (?:rise|go up|increase|gain)|sure thing|certain to (?:rise|gain|go up)|"
        r"price will reach|will double|guaranteed to (?:rise|go up)",
        re.IGNORECASE,
    ),
    "LANG-08": re.compile(
        r"立即全仓|全仓买入|满仓|梭哈|立即买入|马上买入|赶紧买入|all[- ]in\b|buy now|"
        r"sell everything now|go all in",
        re.IGNORECASE,
    ),
}
NEGATORS_ZH = re.compile(r"[不非无未]|并不|不得|不承诺|不代表|没有")
NEGATORS_EN = re.compile(r"\b(?:not|no|never|without|isn't|aren't|cannot|nor)\b", re.IGNORECASE)
PAST = re.compile(
    r"(?:过去|过往|近|最近)\s*(?:\d+|[一二三四五六七八九十两])\s*(?:年|个月)[^。；\n]{0,20}?"
    r"(?:收益|涨|回报|年化)[^。；\n]{0,10}?\d+(?:\.\d+)?%|"
    r"(?:历史|过往)(?:年化)?(?:收益|业绩|回报)率?[^。；\n]{0,6}?\d+(?:\.\d+)?%|"
    r"(?:over the (?:past|last) \w+ years?|historically|since inception)"
    r"[^.;\n]{0,40}?\d+(?:\.\d+)?%|"
    r"(?:past|historical) (?:returns?|performance) of \d+(?:\.\d+)?%",
    re.IGNORECASE,
)
FUTURE = re.compile(r"未来|今后|将来|也能|还会|will|going forward|you can expect", re.IGNORECASE)
BENCHMARK = re.compile(
    r"业绩比较基准|预期(?:年化)?收益率?|expected (?:annual )?returns?|benchmark", re.IGNORECASE
)
CAVEAT = re.compile(
    r"不代表实际收益|可能损失本金|not actual returns?|not a guarantee|may lose", re.IGNORECASE
)
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(%|％)?")


def _blank(text: str, pattern: re.Pattern[str]) -> tuple[str, list[str]]:
    """The text with every match replaced by spaces (offsets kept), and the matches."""
    found = [m.group() for m in pattern.finditer(text)]
    return pattern.sub(lambda m: " " * len(m.group()), text), found


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - 6) : start]
    words = " ".join(text[max(0, start - 40) : start].split()[-3:])
    return bool(NEGATORS_ZH.search(before) or NEGATORS_EN.search(words))


def prohibited(text: str, rule_id: str) -> list[str]:
    """Matches of a prohibited-language rule outside disclaimers and not negated."""
    scrubbed, _ = _blank(text, DISCLAIMERS)
    return [
        m.group() for m in TERMS[rule_id].finditer(scrubbed) if not _negated(scrubbed, m.start())
    ]


def past_figures(text: str) -> list[str]:
    """Historical performance figures quoted in the text."""
    return [m.group() for m in PAST.finditer(text)]


def _sentences(text: str) -> Iterator[str]:
    yield from (s for s in re.split(r"[。！？!?；;\n]|\.\s", text) if s.strip())


for _rule_id in TERMS:

    def _make(rule_id: str) -> None:
        @evaluator(rule_id)
        def check(ctx: RuleContext, rid: str) -> list[Hit]:
            return [Hit(f"“{term}”") for term in prohibited(ctx.client_text, rid)]

    _make(_rule_id)


@evaluator("LANG-04")
def past_as_predictive(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return [
        Hit(s.strip()[:120])
        for s in _sentences(ctx.client_text)
        if PAST.search(s) and FUTURE.search(s)
    ]


@evaluator("LANG-05")
def negated_disclaimers(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """Informational: negated terms the letter used (the composed wording is known to be fine)."""
    _, found = _blank(ctx.letter, DISCLAIMERS)
    return [Hit("recognised: " + "; ".join(dict.fromkeys(found)))] if found else []


@evaluator("LANG-06")
def benchmark_without_caveat(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return [
        Hit(p.strip()[:120])
        for p in ctx.client_text.split("\n")
        if BENCHMARK.search(p) and not CAVEAT.search(p)
    ]


@evaluator("LANG-07")
def past_without_disclaimer(ctx: RuleContext, rule_id: str) -> list[Hit]:
    disclaimer = re.search(
        r"过往业绩不预示其未来表现|Past performance is not a reliable indicator",
        ctx.client_text,
        re.IGNORECASE,
    )
    figures = past_figures(ctx.client_text)
    return [Hit("past figures: " + "; ".join(figures))] if figures and not disclaimer else []


def _allowed_numbers(ctx: RuleContext) -> tuple[set[float], set[float]]:
    """Percentages and plain numbers a letter may use: plan, shelf, assumptions and corpus."""
    plan, profile = ctx.plan, ctx.profile
    fractions = [
        plan.expected_return,
        plan.expected_volatility,
        plan.baseline.expected_return,
        plan.baseline.expected_volatility,
        plan.target_volatility,
        *plan.feasible_volatility,
        profile.liquidity_reserve_share,
        *(h.weight for h in plan.holdings),
        *(a.expected_return for a in ctx.market.cma.asset_classes),
        *(a.volatility for a in ctx.market.cma.asset_classes),
    ]
    plain = [
        profile.horizon_years,
        profile.liquidity_reserve,
        profile.aum,
        profile.age,
        *(t.amount for t in plan.trades),
    ]
    for h in plan.holdings:
        if (p := ctx.market.products.get(h.product_code)) is not None:
            fractions += [p.fees.annual, p.fees.management]
            plain += [p.min_investment, p.redemption_days, p.lockup_days]
    pcts = {round(f * 100, 1) for f in fractions} | {float(profile.max_drawdown_pct)}
    for match in NUMBER.finditer(ctx.grounding):
        value = float(match.group(1).replace(",", "") + (match.group(2) or ""))
        if match.group(3):
            pcts.add(value)
        else:
            plain.append(value)
    return pcts, {float(x) for x in plain}


def _strip_identifiers(text: str, ctx: RuleContext) -> str:
    codes = [*ctx.market.products, *(sid for sid, _, _ in ctx.sources), ctx.model_name]
    for token in sorted(codes, key=len, reverse=True):
        text = text.replace(token, " ")
    return re.sub(r"\d{4}-\d{2}-\d{2}|\b[CR][1-5]\b|T\+\d+|1/N", " ", text)


@evaluator("TW-NUM-01")
def ungrounded_numbers(ctx: RuleContext, rule_id: str) -> list[Hit]:
    pcts, plain = _allowed_numbers(ctx)
    tolerance = ctx.policy.number_tolerance_pp
    hits = []
    for match in NUMBER.finditer(_strip_identifiers(ctx.letter, ctx)):
        value = float(match.group(1).replace(",", "") + (match.group(2) or ""))
        if match.group(3):
            grounded = any(abs(value - p) <= tolerance for p in pcts)
        else:
            grounded = value <= 10 or any(abs(value - p) <= max(0.5, p * 1e-3) for p in plain)
        if not grounded:
            hits.append(Hit(f"{match.group().strip()} has no source"))
    return hits


PII_RULES = {
    "id_number": "PII-01",
    "mobile": "PII-02",
    "bank_card": "PII-03",
    "email": "PII-04",
    "ssn": "PII-05",
}

for _kind, _pii_rule in PII_RULES.items():

    def _make_pii(kind: str, rule_id: str) -> None:
        @evaluator(rule_id)
        def check(ctx: RuleContext, rid: str) -> list[Hit]:
            found = [f for f in find_sensitive(ctx.client_text) if f.kind == kind]
            return [Hit(f"{kind} at offset {f.start} ({f.masked})") for f in found]

    _make_pii(_kind, _pii_rule)
