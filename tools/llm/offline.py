"""The offline model: deterministic, bilingual prose and fact extraction, with no network."""

from __future__ import annotations

import re
from typing import Any

from tools.llm.port import CallTimer, ModelCall, Prompt, T

_CN_NUMBERS = {
    "一": 1,
    "两": 2,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
    "半": 0.5,
}
_PURPOSES = {
    "house": r"购房|买房|购置房产|首付|换房|house|home|apartment|flat|property|down payment",
    "education": r"教育|学费|留学|上学|tuition|education|college|university|school",
    "medical": r"医疗|手术|治病|看病|medical|surgery|hospital|health care",
    "retirement": r"退休|养老|retire|pension",
}
_YEARS = re.compile(
    r"(\d+(?:\.\d+)?|[一两二三四五六七八九十半])\s*(?:个)?年(?:内|后|以内|之内)"
    r"|(?:in|within|next)\s+(\d+(?:\.\d+)?|one|two|three|four|five)\s+years?",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"(\d+(?:\.\d+)?)\s*(万|千|亿|元|k\b|million\b|m\b|yuan|cny|rmb)", re.IGNORECASE
)
_PRESERVE = re.compile(
    r"不愿(?:意)?承受(?:任何)?损失|不能(?:接受)?亏|不想亏|保住本金|不接受亏损|"
    r"(?:can(?:not|'t)|unable to) (?:afford|accept|bear) (?:to lose|any loss|losses)|no losses",
    re.IGNORECASE,
)
_EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_UNITS = {"万": 1e4, "千": 1e3, "亿": 1e8, "k": 1e3, "million": 1e6, "m": 1e6}


def _years(sentence: str) -> float | None:
    match = _YEARS.search(sentence)
    if not match:
        return None
    token = (match.group(1) or match.group(2)).lower()
    if token in _CN_NUMBERS:
        return float(_CN_NUMBERS[token])
    return float(_EN_NUMBERS.get(token) or token)


def _amount(sentence: str) -> float | None:
    match = _AMOUNT.search(sentence)
    if not match:
        return None
    return float(match.group(1)) * _UNITS.get(match.group(2).lower(), 1.0)


def extract_facts(notes: str) -> dict[str, Any]:
    """Liquidity events and loss aversion found in the notes, sentence by sentence."""
    events, other = [], []
    for sentence in filter(None, (s.strip() for s in re.split(r"[。；;!?！？\n]|\.\s", notes))):
        for purpose, pattern in _PURPOSES.items():
            if re.search(pattern, sentence, re.IGNORECASE):
                events.append(
                    {
                        "purpose": purpose,
                        "within_years": _years(sentence),
                        "amount": _amount(sentence),
                    }
                )
                other.append(sentence[:120])
                break
    return {
        "liquidity_events": events[:10],
        "wants_capital_preservation": bool(_PRESERVE.search(notes)),
        "other_facts": other[:10],
    }


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def rationale(data: dict[str, Any], locale: str) -> str:
    """Why these weights, from the computed figures only."""
    top = data["holdings"][:4]
    zh = locale == "zh-CN"
    if not top:
        return (
            "没有符合您风险等级与约束条件的产品可供配置，本方案不构成配置建议，需由投资顾问处理。"
            if zh
            else "No product fits your risk level and constraints, so this is not an allocation "
            "proposal; an advisor must handle it."
        )
    names = ("、" if zh else ", ").join(
        f"{h['name']}（{_pct(h['weight'])}）" if zh else f"{h['name']} ({_pct(h['weight'])})"
        for h in top
    )
    fallback = data.get("fallback")
    if zh:
        parts = [
            f"本方案主要配置于{names}。",
            f"按资本市场假设估算，组合预期年化收益约{_pct(data['expected_return'])}，"
            f"预期年化波动约{_pct(data['expected_volatility'])}；"
            f"同一范围内产品等权配置（1/N）的估算分别为{_pct(data['baseline_return'])}和"
            f"{_pct(data['baseline_volatility'])}。以上均为模型估计，不代表实际收益。",
            f"其中约{_pct(data['reserve_share'])}保留在可每日赎回的现金管理类产品中，以满足流动性需要。",
        ]
        if fallback:
            parts.append("优化求解未能满足全部约束，本方案采用保守的备用配置，需由投资顾问复核。")
        if data.get("source") == "advisor":
            parts.append("本方案的权重已由您的投资顾问调整。")
        return "".join(parts)
    parts = [
        f"This plan is built mainly from {names}.",
        f" On our capital-market assumptions the portfolio's estimated annual return is about "
        f"{_pct(data['expected_return'])} with an estimated annual volatility of about "
        f"{_pct(data['expected_volatility'])}; an equal-weight (1/N) mix of the same eligible "
        f"products comes to {_pct(data['baseline_return'])} and "
        f"{_pct(data['baseline_volatility'])}. These are model estimates, not actual returns.",
        f" About {_pct(data['reserve_share'])} is kept in money-market products that can be "
        f"redeemed daily, for your liquidity needs.",
    ]
    if fallback:
        parts.append(
            " The optimiser could not meet every constraint, so this is a conservative "
            "fallback allocation that an advisor must review."
        )
    if data.get("source") == "advisor":
        parts.append(" Your advisor has adjusted the weights of this plan.")
    return "".join(parts)


def research_summary(items: list[dict[str, Any]], locale: str) -> str:
    """One line per note, each cited by its id."""
    if locale == "zh-CN":
        lines = [
            f"• {i['title']}（{i['publisher']}，{i['as_of']}）[{i['source_id']}]" for i in items
        ]
        return "相关研究观点：\n" + "\n".join(lines)
    lines = [f"• {i['title']} ({i['publisher']}, {i['as_of']}) [{i['source_id']}]" for i in items]
    return "Relevant research:\n" + "\n".join(lines)


def letter(data: dict[str, Any], locale: str) -> str:
    """The client-facing letter around the rationale, education and research."""
    zh = locale == "zh-CN"
    parts = ["尊敬的{client_name}：" if zh else "Dear {client_name},"]
    parts.append(
        f"根据您的风险承受能力等级（{data['risk_level']}）和投资目标，我们为您准备了以下资产配置建议。"
        if zh
        else f"Based on your risk tolerance level ({data['risk_level']}) and your goals, we have "
        "prepared the following allocation proposal."
    )
    parts.append(data["rationale"])
    if data.get("education"):
        lessons = [
            f"【{x['title']}】{x['body']}（资料来源：{x['source']}）"
            if zh
            else f"{x['title']}: {x['body']} (Source: {x['source']})"
            for x in data["education"]
        ]
        parts.append("\n".join(["投资者教育：" if zh else "Investor education:", *lessons]))
    if data.get("research_summary"):
        parts.append(data["research_summary"])
    return "\n\n".join(parts)


def second_opinion(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The rules' own findings, restated: the offline model has no judgement of its own."""
    concerns = [f"{f['rule_id']}: {f['message']}" for f in findings if f["verdict"] != "pass"]
    return {"agrees": True, "concerns": concerns}


class OfflineModel:
    """Template prose from structured inputs; the same input always gives the same output."""

    def __init__(self, name: str = "offline-v1") -> None:
        self.name = name
        self.calls: list[ModelCall] = []

    def record(self, call: ModelCall) -> None:
        self.calls.append(call)

    def structured(self, prompt: Prompt, schema: type[T]) -> T:
        timer = CallTimer(self.calls, self.name, prompt)
        if prompt.task == "extract_facts":
            answer = extract_facts(str(prompt.variables["notes"]))
        elif prompt.task == "second_opinion":
            answer = second_opinion(prompt.variables["findings"])
        elif prompt.task == "request_intent":
            answer = {}  # the lexicon has read the request already; offline adds nothing to it
        elif prompt.task == "judge_letter":
            answer = {"score": 3, "rationale": "offline: no judgement, a neutral grade"}
        else:
            raise ValueError(f"the offline model has no structured task {prompt.task!r}")
        result = schema.model_validate(answer)
        timer.done(0, 0)
        return result

    def text(self, prompt: Prompt) -> str:
        timer = CallTimer(self.calls, self.name, prompt)
        v = prompt.variables
        locale = str(v.get("locale", "zh-CN"))
        if prompt.task == "rationale":
            out = rationale(v["data"], locale)
        elif prompt.task == "research_summary":
            out = research_summary(v["items"], locale)
        elif prompt.task == "letter":
            out = letter(v["data"], locale)
        else:
            raise ValueError(f"the offline model has no text task {prompt.task!r}")
        timer.done(0, 0)
        return out
