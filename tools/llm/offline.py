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


GOALS = {
    "zh-CN": {
        "preservation": "保值",
        "income": "获取稳定收益",
        "balanced": "稳健增值",
        "growth": "资产增值",
        "aggressive_growth": "积极增值",
    },
    "en": {
        "preservation": "preserving your capital",
        "income": "a steady income",
        "balanced": "balanced growth",
        "growth": "growth",
        "aggressive_growth": "strong growth",
    },
}
SLEEVE_NAMES = {
    "zh-CN": {"cash": "货币类", "bonds": "债券类", "equities": "股票类", "gold": "黄金"},
    "en": {"cash": "money-market", "bonds": "bonds", "equities": "equities", "gold": "gold"},
}
SHORT_HORIZON_YEARS = 3


def _sleeves(data: dict[str, Any], locale: str) -> str:
    """The plan's shares by broad kind (bonds, equities, gold) outside the cash reserve."""
    names = SLEEVE_NAMES[locale]
    parts = [
        f"{names[k]}约{_pct(w)}" if locale == "zh-CN" else f"about {_pct(w)} in {names[k]}"
        for k, w in data["sleeves"].items()
        if k != "cash" and w > 0
    ]
    return ("、" if locale == "zh-CN" else ", ").join(parts)


def rationale(data: dict[str, Any], locale: str) -> str:
    """Why this plan, in the client's terms (goal, horizon, the money they need at hand, their
    request), from the computed figures only."""
    zh = locale == "zh-CN"
    if not data["holdings"]:
        return (
            "没有符合您风险等级与约束条件的产品可供配置，本方案不构成配置建议，需由投资顾问处理。"
            if zh
            else "No product fits your risk level and constraints, so this is not an allocation "
            "proposal; an advisor must handle it."
        )
    goal = GOALS[locale][data["goal"]]
    years = f"{data['horizon_years']:g}"
    reserve = f"{data['reserve_amount']:,.0f}"
    equities = data["sleeves"].get("equities", 0.0)
    sleeves = _sleeves(data, locale)
    request = data.get("request") or {}
    short = data["horizon_years"] <= SHORT_HORIZON_YEARS
    if zh:
        parts = [
            f"您的投资目标是{goal}，计划投资约{years}年，并需要随时可以取用约{reserve}元。",
            f"因此，方案先把约{_pct(data['reserve_share'])}的资金放在可每日赎回的现金管理类产品中，"
            "作为这笔流动性储备。",
        ]
        if sleeves:
            parts.append(
                f"其余资金按您的风险承受能力等级（{data['risk_level']}）分散配置：{sleeves}。"
            )
        elif data["reserve_share"] < 1:
            parts.append(
                f"按您的风险承受能力等级（{data['risk_level']}），其余资金同样配置于货币类产品。"
            )
        if short and equities > 0:
            parts.append(
                f"由于投资期限只有约{years}年，股票类资产只占约{_pct(equities)}，以减少到期前遇到大幅下跌的影响。"
            )
        elif short:
            parts.append(f"由于投资期限只有约{years}年，方案不配置股票类资产。")
        elif equities > 0:
            parts.append(
                f"约{years}年的期限让组合有时间度过市场起伏，因此在您的风险等级允许的范围内配置了约{_pct(equities)}的股票类资产。"
            )
        else:
            parts.append("按您的风险等级和目标，方案不配置股票类资产。")
        parts.append(
            f"按资本市场假设估算，组合预期年化收益约{_pct(data['expected_return'])}，"
            f"预期年化波动约{_pct(data['expected_volatility'])}；作为对照，您可投资产品的等权组合"
            f"分别约为{_pct(data['baseline_return'])}和{_pct(data['baseline_volatility'])}。"
            "以上均为模型估计，不代表实际收益。"
        )
        if request.get("risk") == "done":
            parts.append(
                f"应您降低风险的要求，方案的预期年化波动由约{_pct(request['volatility_before'])}"
                f"降至约{_pct(request['volatility_after'])}。"
            )
        if request:
            parts.append("对您提出的要求，我们在下文“关于您的要求”中逐项作了答复。")
        if data.get("fallback"):
            parts.append("优化求解未能满足全部约束，本方案采用保守的备用配置，需由投资顾问复核。")
        if data.get("source") == "advisor":
            parts.append("本方案的权重已由您的投资顾问调整。")
        return "".join(parts)
    parts = [
        f"Your goal is {goal} over about {years} years, and you need about {reserve} CNY "
        "at hand at any time.",
        f" So the plan first keeps about {_pct(data['reserve_share'])} in cash-management "
        "products that can be redeemed daily, as that liquidity reserve.",
    ]
    if sleeves:
        parts.append(
            f" The rest is spread according to your risk level ({data['risk_level']}): {sleeves}."
        )
    elif data["reserve_share"] < 1:
        parts.append(
            f" At your risk level ({data['risk_level']}), the rest is held in money-market "
            "products as well."
        )
    if short and equities > 0:
        parts.append(
            f" Because your horizon is only about {years} years, equities are only about "
            f"{_pct(equities)}, to limit the harm of a sharp fall before it ends."
        )
    elif short:
        parts.append(
            f" Because your horizon is only about {years} years, the plan holds no equities."
        )
    elif equities > 0:
        parts.append(
            f" A horizon of about {years} years gives the portfolio time to ride out market "
            f"swings, so it holds about {_pct(equities)} in equities, within what your risk "
            "level allows."
        )
    else:
        parts.append(" For your risk level and goal, the plan holds no equities.")
    parts.append(
        f" On our capital-market assumptions the portfolio's estimated annual return is about "
        f"{_pct(data['expected_return'])} with an estimated annual volatility of about "
        f"{_pct(data['expected_volatility'])}; for comparison, an equal mix of the products you "
        f"could hold comes to {_pct(data['baseline_return'])} and "
        f"{_pct(data['baseline_volatility'])}. These are model estimates, not actual returns."
    )
    if request.get("risk") == "done":
        parts.append(
            f" As you asked for less risk, the plan's estimated volatility comes down from about "
            f"{_pct(request['volatility_before'])} to about {_pct(request['volatility_after'])}."
        )
    if request:
        parts.append(" Each point of your request is answered below, under About your request.")
    if data.get("fallback"):
        parts.append(
            " The optimiser could not meet every constraint, so this is a conservative "
            "fallback allocation that an advisor must review."
        )
    if data.get("source") == "advisor":
        parts.append(" Your advisor has adjusted the weights of this plan.")
    return "".join(parts)


def research_summary(items: list[dict[str, Any]], locale: str) -> str:
    """One line per note, each cited by its id: for the advisor, never the client's letter."""
    if locale == "zh-CN":
        lines = [
            f"• {i['title']}（{i['publisher']}，{i['as_of']}）[{i['source_id']}]" for i in items
        ]
        return "相关研究观点：\n" + "\n".join(lines)
    lines = [f"• {i['title']} ({i['publisher']}, {i['as_of']}) [{i['source_id']}]" for i in items]
    return "Relevant research:\n" + "\n".join(lines)


def letter(data: dict[str, Any], locale: str) -> str:
    """The greeting (first line) and the opening: what the letter sets out, in plain words."""
    zh = locale == "zh-CN"
    goal = GOALS[locale][data["goal"]]
    if zh:
        contents = ["方案中的每一只产品及其占比和金额"]
        if data.get("trades"):
            contents.append("从您现有持仓调整到方案所需的买卖")
        contents.append("这样配置的理由")
        if data.get("request"):
            contents.append("对您所提要求的逐项答复")
        if data.get("lessons"):
            contents.append("与您的投资习惯相关的投资者教育")
        after = "相关研究和重要提示" if data.get("research") else "重要提示"
        return (
            "尊敬的{client_name}：\n"
            f"根据您的风险承受能力等级（{data['risk_level']}）、{goal}的投资目标和约"
            f"{data['horizon_years']:g}年的投资期限，我们借助公司的资产配置模型为您拟定了以下方案，"
            "并已按合规规则逐项检查。下文依次列出"
            + "、".join(contents)
            + f"，最后是{after}。请您仔细阅读；如有疑问，欢迎随时与我们联系。"
        )
    contents = ["every product in the plan with its share and amount"]
    if data.get("trades"):
        contents.append("the trades that take what you hold today to the plan")
    contents.append("why the plan looks as it does")
    if data.get("request"):
        contents.append("our answer to each point of your request")
    if data.get("lessons"):
        contents.append("investor education on your own trading habits")
    after = (
        "research on what the plan holds and important information"
        if data.get("research")
        else "important information"
    )
    listed = ", ".join(contents[:-1]) + " and " + contents[-1]
    return (
        "Dear {client_name},\n"
        f"Based on your risk level ({data['risk_level']}), your goal of {goal} and a horizon of "
        f"about {data['horizon_years']:g} years, we have prepared the plan below with the help of "
        "our portfolio model, and checked it against our compliance rules. Below you will find "
        f"{listed}, followed by {after}. "
        "Please read it carefully, and contact us with any questions."
    )


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
