"""Text detectors, pure functions: prohibited language with negation, past figures, numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator

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
# TW-ANS-01: beside the promises above, what an answer about a product must never say: how it
# will do, or that the client should buy it (a recommendation beyond the plan).
FORECAST = re.compile(
    r"预计|有望|看好|前景(?:广阔|良好|不错|可期)|(?:将|会|能)(?:会)?(?:上涨|下跌|走高|走低|反弹|涨|跌)|"
    r"值得(?:买入|购买|投资|配置|持有)|建议(?:您)?(?:买入|购买|加仓|增持|配置)|推荐(?:您)?(?:买入|购买)|"
    r"expected to|(?:is|are) likely to|poised to|the outlook is|"
    r"will (?:rise|fall|go up|go down|grow|gain|outperform|recover|rebound|beat)|"
    r"should (?:rise|gain|grow|recover|do well)|worth (?:buying|investing in|holding)|"
    r"(?:we|I) recommend (?:buying|that you buy|you buy)|you should buy|a good time to buy",
    re.IGNORECASE,
)
# TW-ANS-02: words that call a product suitable for the client (negated, they say the opposite).
SUITABLE = re.compile(
    r"适合(?:您|你)|与您的?[^，。；]{0,12}相?匹配|符合您的?[^，。；]{0,12}(?:等级|要求|条件)|"
    r"在您[^，。；]{0,24}之内|可以放心|"
    r"suitable for you|suits you|right for you|(?:a )?good (?:fit|choice|idea|match) for you|"
    r"matches your|within (?:what )?(?:your|that|this) [^.;]{0,40}?(?:level|allows)|safe for you",
    re.IGNORECASE,
)
# A negator must govern the term directly, in the same clause: within the last few characters
# (zh) or words (en) before it, with no clause punctuation between. 非常, 不仅, 无需 and the
# like contain a negating character but negate nothing.
# Every prohibited-language rule above is a promise (capital, returns, certainty, timing).
PROMISES = tuple(TERMS)
NEGATORS_ZH = re.compile(r"(?:并不|并非|不得|不会|不是|不|非|无|未|没有?)\s*$")
FALSE_NEGATORS_ZH = re.compile(r"(?:非常|不仅|无需|不用|毫无|无论|不管|无疑)\s*$")
NEGATORS_EN = re.compile(
    r"\b(?:not|no|never|without|isn't|aren't|cannot|nor)(?:\s+\w+)?\s*$", re.IGNORECASE
)
CLAUSE = re.compile(r"[，。；！？、：,.;:!?\n]")
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
# ASCII boundary: in Python \w matches Chinese, and "收益15.3%" must still yield 15.3%.
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(%|％)?")


def blank(text: str, pattern: re.Pattern[str]) -> tuple[str, list[str]]:
    """The text with every match replaced by spaces (offsets kept), and the matches."""
    found = [m.group() for m in pattern.finditer(text)]
    return pattern.sub(lambda m: " " * len(m.group()), text), found


def _negated(text: str, start: int) -> bool:
    """True when a negator directly governs the term starting at `start`, in its clause."""
    clause = CLAUSE.split(text[max(0, start - 40) : start])[-1]
    tail = clause[-4:]
    if NEGATORS_ZH.search(tail) and not FALSE_NEGATORS_ZH.search(tail):
        return True
    return bool(NEGATORS_EN.search(clause))


def unnegated(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Matches of a pattern outside disclaimers and not negated."""
    scrubbed, _ = blank(text, DISCLAIMERS)
    return [m.group() for m in pattern.finditer(scrubbed) if not _negated(scrubbed, m.start())]


def prohibited(text: str, rule_id: str) -> list[str]:
    """Matches of a prohibited-language rule outside disclaimers and not negated."""
    return unnegated(text, TERMS[rule_id])


def past_figures(text: str) -> list[str]:
    """Historical performance figures quoted in the text."""
    return [m.group() for m in PAST.finditer(text)]


def sentences(text: str) -> Iterator[str]:
    yield from (s for s in re.split(r"[。！？!?；;\n]|\.\s", text) if s.strip())


def numbers_in(text: str) -> list[tuple[str, float, bool]]:
    """(as written, value, is a percentage) for every number in the text."""
    return [
        (
            m.group().strip(),
            float(m.group(1).replace(",", "") + (m.group(2) or "")),
            bool(m.group(3)),
        )
        for m in NUMBER.finditer(text)
    ]


def ungrounded(
    text: str, fractions: list[float], plain: list[float], tolerance_pp: float
) -> list[str]:
    """Numbers in the text that match no given fraction (as a percentage) or plain number.

    Small counts (10 or less) pass; ISO dates, level codes and T+n are not numbers here.
    """
    pcts = {f * 100 for f in fractions}  # exact: a figure printed to 0.1 is within 0.05
    amounts = set(plain)
    text = re.sub(r"\d{4}-\d{2}-\d{2}|\b[CR][1-5]\b|T\+\d+|1/N", " ", text)
    out = []
    for written, value, percent in numbers_in(text):
        if percent:
            grounded = any(abs(value - p) <= tolerance_pp + 1e-9 for p in pcts)
        else:
            grounded = value <= 10 or any(abs(value - a) <= max(0.5, a * 1e-3) for a in amounts)
        if not grounded:
            out.append(written)
    return out
