"""Scorers: deterministic first (suitability, gate, weights, band, disclosures, leakage,
grounding), then expectations (tier, route, trajectory, verdict, rules) for one repetition."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from core.masking import find_sensitive
from core.schemas.vocabulary import Locale
from core.settings import AllocationPolicy, CompliancePolicy
from evals.schema import Scenario, TrajectoryExpectation
from tools.education.lessons import shipped_catalogue
from tools.letter.text import HEADINGS
from tools.market.market_data import MarketData

PROFESSIONAL_ASSETS, PROFESSIONAL_INCOME, PROFESSIONAL_YEARS = 5_000_000, 500_000, 2
HNW_FROM, MID_FROM = 6_000_000, 500_000
# The letter's answer section (TW-REQ-02) under its numbered heading, in either language.
ANSWER_HEADING = re.compile(
    "|".join(rf"^\S+[、.] ?{re.escape(h)}$" for h in HEADINGS["answer"].values()), re.MULTILINE
)
SHARE_TOLERANCE = 1e-6
BAND_TOLERANCE = 1e-4  # weights on a 1e-4 grid move a plan's volatility by less than this


@dataclass
class Score:
    name: str
    passed: bool
    detail: str = ""
    critical: bool = False


@dataclass
class Outcome:
    """What one repetition of a scenario produced, as the harness saw it."""

    run: dict[str, Any]
    status_before: str
    compliance_before: dict[str, Any] | None
    approvals: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: float = 0.0
    node_latency_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def match_trajectory(expected: TrajectoryExpectation, actual: list[str]) -> bool:
    """strict: equal; unordered: same multiset; subset: expected within actual; superset: the
    actual run uses only expected nodes."""
    if expected.mode == "strict":
        return actual == expected.nodes
    if expected.mode == "unordered":
        return sorted(actual) == sorted(expected.nodes)
    if expected.mode == "subset":
        return set(expected.nodes) <= set(actual)
    return set(actual) <= set(expected.nodes)


def allowed_rank(scenario: Scenario) -> int:
    """The highest product level this client may hold, from the client input and the spec."""
    c = scenario.client
    if c.risk_assessment.lowest_category:
        return 1
    income = c.annual_income if c.avg_annual_income_3y is None else c.avg_annual_income_3y
    professional = (
        c.investor_type == "professional"
        and (c.financial_assets >= PROFESSIONAL_ASSETS or income >= PROFESSIONAL_INCOME)
        and c.investment_experience_years >= PROFESSIONAL_YEARS
    )
    return 5 if professional else int(c.risk_assessment.level[1])


def spec_tier(scenario: Scenario) -> str:
    aum = scenario.client.aum
    return "hnw" if aum >= HNW_FROM else "mid_tier" if aum >= MID_FROM else "long_tail"


def _held(plan: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [h for h in (plan or {}).get("holdings", []) if h["weight"] > 0]


def _fired(compliance: dict[str, Any] | None) -> set[str]:
    """Rules that found something, whatever their verdict (informational ones included)."""
    return {f["rule_id"] for f in (compliance or {}).get("findings", [])}


def _blocking(compliance: dict[str, Any] | None) -> set[str]:
    return {f["rule_id"] for f in (compliance or {}).get("findings", []) if f["verdict"] != "pass"}


def invariant_scores(
    scenario: Scenario,
    out: Outcome,
    market: MarketData,
    policy: CompliancePolicy | None = None,
    allocation: AllocationPolicy | None = None,
) -> list[Score]:
    """Scores every scenario gets, whatever it expects (under the shipped policies by default)."""
    policy = policy or CompliancePolicy()
    run, delivery = out.run, out.run.get("delivery")
    plan = run.get("plan")
    scores = []
    if delivery:
        ranks = [
            market.products[h["product_code"]].risk_rating.rank
            if h["product_code"] in market.products
            else 6
            for h in _held(plan)
        ]
        limit = allowed_rank(scenario)
        scores.append(
            Score(
                "suitability",
                all(r <= limit for r in ranks),
                f"ranks {ranks} vs allowed R{limit}",
                critical=True,
            )
        )
        approved = [
            a
            for a in out.approvals
            if a["status"] == "approved" and a["plan_hash"] == delivery["plan_hash"]
        ]
        # From the spec, not the run: mid-tier and HNW, the lowest category while the policy
        # says so (SYS-02), and anything that did not pass are owed an advisor's approval.
        lowest = scenario.client.risk_assessment.lowest_category and policy.lowest_category_signoff
        owed_a_human = (
            spec_tier(scenario) != "long_tail"
            or lowest
            or (out.compliance_before or {}).get("verdict") != "pass"
        )
        gate_ok = bool(approved) if owed_a_human else True
        scores.append(
            Score(
                "approval_gate",
                gate_ok,
                "delivered with an approval of this plan"
                if approved
                else "delivered without approval",
                critical=True,
            )
        )
    weights = [h["weight"] for h in (plan or {}).get("holdings", [])]
    if plan is not None and weights:
        ok = all(w >= 0 for w in weights) and abs(sum(weights) - 1) <= 1e-6
        scores.append(Score("weights", ok, f"sum {sum(weights):.6f}"))
    scores.append(_leakage(scenario, out))
    scores.append(_grounding(out, market))
    band = volatility_band(out, allocation or AllocationPolicy())
    if band is not None:
        scores.append(band)
    if (education := education_score(run)) is not None:
        scores.append(education)
    scores += letter_scores(scenario, out, market)
    return scores


def volatility_band(out: Outcome, policy: AllocationPolicy) -> Score | None:
    """The plan's expected volatility inside its level's band (issue 27): never above the
    ceiling; below the floor only when something the plan records took it there (drawdown,
    preservation or a compliance cap lowered the target; the client asked; the shelf cannot
    reach the floor; a fallback; an advisor's own weights). None when there is no plan."""
    plan, profile = out.run.get("plan"), out.run.get("profile") or {}
    level = profile.get("risk_level")
    if not plan or not plan.get("holdings") or level not in policy.volatility_ceiling:
        return None
    floor, ceiling = policy.band(level)
    vol = float(plan["expected_volatility"])
    aimed = plan.get("risk_target") or {}
    reach = (plan.get("feasible_volatility") or [0.0, 0.0])[1]
    why_lower = [
        *aimed.get("lowered_by", []),
        *(["request"] if plan.get("request") else []),
        *(["shelf"] if aimed and reach < floor - BAND_TOLERANCE else []),
        *(["fallback"] if plan.get("fallback") else []),
        *(["advisor"] if plan.get("source") == "advisor" or not aimed else []),
    ]
    above, below = vol > ceiling + BAND_TOLERANCE, vol < floor - BAND_TOLERANCE
    detail = f"{vol:.4f} in [{floor:.4f}, {ceiling:.4f}]" + (
        f" (below: {', '.join(why_lower) or 'no reason recorded'})" if below else ""
    )
    return Score("volatility_band", not above and (not below or bool(why_lower)), detail)


def _dominates(more: dict[str, float], less: dict[str, float]) -> bool:
    """Every capacity score at least as high, and one higher."""
    return set(more) == set(less) and all(more[f] >= less[f] for f in less) and more != less


def capacity_order(plans: dict[str, dict[str, Any]]) -> dict[str, Score]:
    """Suite-level (issue 27): of two plans at one level and goal, the one whose client has at
    least as much capacity on every score is never placed lower in the band: its position is
    no lower, and where both reach the same top (the ceiling, or the same shelf reach) neither
    is its volatility target. `plans` maps a
    scenario id to its first plan (with its profile's level and goal under `level`, `goal`);
    the answer scores each scenario that has a comparable other, failing both of a pair out
    of order."""
    placed = {sid: p for sid, p in plans.items() if (p.get("risk_target") or {}).get("scores")}
    wrong: dict[str, list[str]] = {}
    compared: set[str] = set()
    for a, pa in placed.items():
        for b, pb in placed.items():
            if a == b or (pa["level"], pa["goal"]) != (pb["level"], pb["goal"]):
                continue
            ta, tb = pa["risk_target"], pb["risk_target"]
            if not _dominates(tb["scores"], ta["scores"]):
                continue
            compared |= {a, b}
            same_top = ta.get("reach") == tb.get("reach")
            lower = tb["position"] < ta["position"] - 1e-9
            if lower or (same_top and tb["placed"] < ta["placed"] - 1e-9):
                wrong.setdefault(a, []).append(b)
                wrong.setdefault(b, []).append(a)
    return {
        sid: Score(
            "capacity_order",
            sid not in wrong,
            f"placed out of order against {sorted(wrong[sid])}" if sid in wrong else "in order",
        )
        for sid in sorted(compared)
    }


def taught_in_text(text: str, locale: str) -> list[str]:
    """The flags whose lesson a letter's text carries, found by the lesson's title in the
    client's language (for a report without the letter's document)."""
    lessons = shipped_catalogue().lessons
    loc: Locale = "zh-CN" if locale == "zh-CN" else "en"
    return [flag for flag, lesson in lessons.items() if lesson.text(loc).title in text]


def education_score(run: dict[str, Any]) -> Score | None:
    """Education only with a flag: every lesson in the letter is for a flag the client has,
    once, and every flag has its lesson. Read from the letter's lessons (the report's
    `document.education`), else from its text; no score before there is a letter."""
    report, profile = run.get("compliance") or {}, run.get("profile") or {}
    text = _client_text(run)
    if not report or not (text or report.get("document")):
        return None
    flags = {f["flag"] for f in profile.get("behaviour_flags", [])}
    document = report.get("document")
    if document is not None:
        taught = [lesson["flag"] for lesson in document.get("education", [])]
    else:
        taught = taught_in_text(text, profile.get("locale", "zh-CN"))
    problems = [f"no flag: {f}" for f in sorted(set(taught) - flags)]
    problems += [f"no lesson: {f}" for f in sorted(flags - set(taught))]
    problems += [f"twice: {f}" for f in sorted({f for f in taught if taught.count(f) > 1})]
    detail = "; ".join(problems) or f"lessons {sorted(taught)} for flags {sorted(flags)}"
    return Score("education", not problems, detail)


# ------------------------------------------------------------------ the letter (issue 27)
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# An English sentence: four Latin words in a row, separated by blanks.
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ,]+[A-Za-z][A-Za-z'’-]*){3,}")
PRINCIPAL_ID = re.compile(r"(?<![A-Za-z0-9])(?:adv|sup)-[A-Za-z0-9_.-]+", re.IGNORECASE)
# The AI disclosure (REQ-05, wording.yaml) is the one line that must name the model.
AI_DISCLOSURE = ("算法模型辅助生成", "prepared with the help of algorithms")
MAX_RESEARCH_NOTES = 3  # issue 27


def _proper_names(scenario: Scenario, market: MarketData) -> list[str]:
    """Names a letter may carry in either language: the client's and every fund's registered
    name, longest first (a name inside another is stripped after it)."""
    names = [scenario.client.name, *(n for p in market.shelf for n in (p.name_zh, p.name_en))]
    return sorted({n for n in names if n}, key=len, reverse=True)


def _without(text: str, names: list[str]) -> str:
    for name in names:
        text = text.replace(name, " ")
    return text


def _section(text: str, key: str) -> list[str]:
    """The lines under a numbered heading of the letter, up to the next blank line."""
    titles = HEADINGS[key].values()
    for block in text.split("\n\n"):
        head, _, body = block.partition("\n")
        if any(re.fullmatch(rf"\S+[、.] ?{re.escape(t)}", head) for t in titles):
            return body.splitlines()
    return []


def letter_scores(scenario: Scenario, out: Outcome, market: MarketData) -> list[Score]:
    """The letter a client would receive: in one language, with no internal identifier, every
    holding with its weight and amount, the trades when they hold something today, and notes
    about what the plan holds only. None for a run that composed no letter."""
    compliance = out.run.get("compliance") or {}
    document, text = compliance.get("document"), _client_text(out.run)
    if not document or not text:
        return []
    locale = document["locale"]
    # The advisor who signed (a person's name and their branch's line) is a proper name too.
    signed = ((out.run.get("delivery") or {}).get("document") or {}).get("signature") or {}
    signer = [v for v in (signed.get("name"), signed.get("contact")) if v]
    names = sorted({*_proper_names(scenario, market), *signer}, key=len, reverse=True)
    plain = _without(text, names)
    if locale == "en":
        mixed = sorted(set(CJK.findall(plain)))
    else:
        mixed = [m.group() for m in ENGLISH_RUN.finditer(plain)]
    scores = [Score("letter_language", not mixed, f"{locale}: {mixed[:3]}" if mixed else "")]
    scores.append(_letter_ids(scenario, text, compliance.get("model", ""), market))
    scores.append(_letter_holdings(out.run.get("plan") or {}, text, locale))
    scores.append(_letter_trades(scenario, out.run.get("plan") or {}, text))
    scores.append(_letter_research(out.run.get("plan") or {}, document, market))
    return scores


def _letter_ids(scenario: Scenario, text: str, model: str, market: MarketData) -> Score:
    lines = text.splitlines()
    body = "\n".join(line for line in lines if not any(a in line for a in AI_DISCLOSURE))
    found = [m.group() for m in PRINCIPAL_ID.finditer(body)]
    advisor = scenario.client.advisor_id
    if advisor and re.search(rf"(?<![A-Za-z0-9_-]){re.escape(advisor)}(?![A-Za-z0-9_-])", body):
        found.append(advisor)
    found += [n.id for n in market.corpus if n.id in text]
    found += [model] if model and model in body else []
    found += ["1/N"] if "1/N" in text else []
    return Score("letter_no_ids", not found, f"found {found}" if found else "")


def _letter_holdings(plan: dict[str, Any], text: str, locale: str) -> Score:
    """Every holding the plan weights, on one line of the table with its weight and amount."""
    table = _section(text, "holdings")
    missing = []
    for h in _held(plan):
        code, weight = h["product_code"], f"{h['weight'] * 100:.1f}%"
        amount = h.get("amount", 0.0)
        money = f"{amount:,.0f}元" if locale == "zh-CN" else f"{amount:,.0f} CNY"
        named = [line for line in table if f"（{code}）" in line or f"({code})" in line]
        if amount <= 0 or not any(weight in line and money in line for line in named):
            missing.append(code)
    return Score("letter_holdings", not missing, f"missing {missing}" if missing else "")


def _letter_trades(scenario: Scenario, plan: dict[str, Any], text: str) -> Score:
    """A client who holds something and whose plan changes it reads every sell and buy."""
    trades = plan.get("trades", [])
    if not scenario.client.holdings or not trades:
        return Score("letter_trades", True, "nothing held or nothing to trade")
    listed = "\n".join(_section(text, "trades"))
    missing = [
        t["product_code"]
        for t in trades
        if t["amount"] >= 100 or t["side"] == "sell"
        if f"（{t['product_code']}）" not in listed and f"({t['product_code']})" not in listed
    ]
    ok = bool(listed) and not missing
    return Score("letter_trades", ok, f"missing {missing}" if not ok else "")


def _letter_research(plan: dict[str, Any], document: dict[str, Any], market: MarketData) -> Score:
    """At most three notes, each about a product or an asset class the plan holds."""
    held = {h["product_code"] for h in _held(plan)}
    classes = {market.products[c].asset_class for c in held if c in market.products}
    by_title = {n.title.in_(document["locale"]): n for n in market.corpus}
    shown = [by_title.get(n["title"]) for n in document.get("research", [])]
    off = [
        n.id if n else "unknown"
        for n in shown
        if n is None or not (set(n.products) & held or set(n.asset_classes) & classes)
    ]
    ok = len(shown) <= MAX_RESEARCH_NOTES and not off
    detail = f"{len(shown)} notes; not about the plan: {off}" if not ok else ""
    return Score("letter_research", ok, detail)


def _leakage(scenario: Scenario, out: Outcome) -> Score:
    contact = scenario.client.contact
    raw = [v for v in (contact.phone, contact.id_number, contact.email) if v]
    notes_pii = [
        scenario.client.notes[f.start : f.end] for f in find_sensitive(scenario.client.notes)
    ]
    text = repr(out.run)
    leaked = [v for v in [*raw, *notes_pii] if v in text]
    delivered = (out.run.get("delivery") or {}).get("text", "")
    leaked += [f.kind for f in find_sensitive(delivered)]
    return Score("leakage", not leaked, f"leaked: {leaked}" if leaked else "", critical=True)


def _grounding(out: Outcome, market: MarketData) -> Score:
    problems = []
    plan, research = out.run.get("plan") or {}, out.run.get("research") or {}
    problems += [h["product_code"] for h in _held(plan) if h["product_code"] not in market.products]
    corpus = {n.id for n in market.corpus}
    items = {i["source_id"] for i in research.get("items", [])}
    problems += [i for i in items if i not in corpus]
    problems += [c for c in research.get("citations", []) if c not in items]
    text = (out.run.get("compliance") or {}).get("client_text", "")
    problems += [c for c in re.findall(r"\[(TW-[A-Z]+-\d+-\d+)\]", text) if c not in corpus]
    return Score("grounding", not problems, f"unknown: {problems}" if problems else "")


def expectation_scores(scenario: Scenario, out: Outcome, market: MarketData) -> list[Score]:
    """Scores for what the scenario says it expects."""
    e, run = scenario.expect, out.run
    scores: list[Score] = []
    profile, plan = run.get("profile") or {}, run.get("plan")
    if e.tier:
        scores.append(Score("tier", profile.get("tier") == e.tier, f"got {profile.get('tier')}"))
    if e.risk_level:
        got = profile.get("risk_level")
        scores.append(Score("risk_level", got == e.risk_level, f"got {got}", critical=True))
    if e.route:
        scores.append(Score("route", out.status_before in e.route, f"got {out.status_before}"))
    if e.final_status:
        got = run["status"]
        scores.append(Score("final_status", got in e.final_status, f"got {got}"))
    if e.trajectory:
        ok = match_trajectory(e.trajectory, run["trajectory"])
        scores.append(Score("trajectory", ok, f"{e.trajectory.mode}: got {run['trajectory']}"))
    # The verdict is the last report's (after any advisor revision); rules may fire in any report.
    verdict = (run.get("compliance") or {}).get("verdict")
    if e.verdict:
        scores.append(Score("verdict", verdict in e.verdict, f"got {verdict}"))
    fired = _fired(out.compliance_before) | _fired(run.get("compliance"))
    for review in out.approvals:
        fired |= {f["rule_id"] for f in review["findings"]}
    if e.rule_ids:
        missing = sorted(set(e.rule_ids) - fired)
        scores.append(Score("rules", not missing, f"missing {missing}; fired {sorted(fired)}"))
    if e.absent_rule_ids:
        wrong = sorted(set(e.absent_rule_ids) & fired)
        scores.append(Score("absent_rules", not wrong, f"fired {wrong}"))
    held = {h["product_code"] for h in _held(plan)}
    if e.forbidden_products:
        found = sorted(held & set(e.forbidden_products))
        scores.append(Score("forbidden_products", not found, f"held {found}", critical=True))
    if e.required_disclosures and plan is not None and run["status"] != "blocked":
        missing = sorted(set(e.required_disclosures) & _blocking(run.get("compliance")))
        scores.append(Score("disclosures", not missing, f"missing {missing}"))
    if e.max_risk_rating and plan is not None:
        ranks = [market.products[c].risk_rating.rank for c in held if c in market.products]
        limit = e.max_risk_rating.rank
        scores.append(
            Score(
                "risk_band",
                all(r <= limit for r in ranks),
                f"max R{max(ranks, default=0)} vs {e.max_risk_rating}",
            )
        )
    if e.max_volatility is not None and plan is not None:
        vol = plan["expected_volatility"]
        scores.append(Score("volatility", vol <= e.max_volatility, f"{vol:.4f}"))
    scores += request_scores(scenario, out, market)
    for step, done in zip(scenario.decisions, out.decisions, strict=False):
        ok = done["refused"] == step.expect_refused
        scores.append(Score(f"decision_{step.action}", ok, done.get("error") or "accepted"))
    # Decisions left over are fine when the run ended without a review (a route the scenario
    # allows); a run still waiting for one is caught by final_status.
    if len(out.decisions) < len(scenario.decisions) and run["status"] == "awaiting_approval":
        scores.append(Score("decisions", False, "the run still waits for a decision"))
    return scores


def _intent(run: dict[str, Any]) -> dict[str, Any] | None:
    """The request as the run understood it (the API view's `intent`, else the profile's)."""
    intent = run.get("intent")
    if intent is None:
        intent = (run.get("profile") or {}).get("request_intent")
    return intent if isinstance(intent, dict) else None


def _client_text(run: dict[str, Any]) -> str:
    delivered = (run.get("delivery") or {}).get("text") or ""
    return delivered or (run.get("compliance") or {}).get("client_text") or ""


def request_scores(scenario: Scenario, out: Outcome, market: MarketData) -> list[Score]:
    """Scores for the client's request (issue 14): what was understood, what shaped the plan,
    whether the letter answers it, and how the rules judged it."""
    e, run = scenario.expect, out.run
    plan = run.get("plan") or {}
    intent = _intent(run) or {}
    shaping = plan.get("request") or {}
    scores: list[Score] = []
    if e.wishes:
        got = {f"{w['direction']}:{w['target']}" for w in intent.get("wishes", [])}
        missing = sorted(set(e.wishes) - got)
        scores.append(Score("wishes", not missing, f"missing {missing}; parsed {sorted(got)}"))
    if e.understood is not None:
        doubts = list(intent.get("not_understood", []))
        scores.append(
            Score("understood", (not doubts) == e.understood, f"not understood: {doubts}")
        )
    if e.shaped:
        done = {o["wish"]["target"]: o["done"] for o in shaping.get("wishes", []) if o.get("wish")}
        short = sorted(t for t in e.shaped if done.get(t) not in ("done", "partly"))
        scores.append(Score("shaped", not short, f"not shaped {short}; outcomes {done}"))
    if e.safer is not None:
        before, after = shaping.get("volatility_before"), shaping.get("volatility_after")
        lowered = (
            shaping.get("risk") == "done"
            and before is not None
            and after is not None
            and after < before
        )
        scores.append(
            Score(
                "safer",
                lowered == e.safer,
                f"risk {shaping.get('risk')}; volatility {before} -> {after}",
            )
        )
    if e.request_answered is not None:
        text = _client_text(run)
        answered = bool(ANSWER_HEADING.search(text))
        scores.append(
            Score("request_answered", answered == e.request_answered, f"answered: {answered}")
        )
    if e.min_reserve_share is not None and run.get("plan") is not None:
        reserve = sum(
            h["weight"]
            for h in _held(plan)
            if h["product_code"] in market.products
            and market.products[h["product_code"]].liquidity_reserve_eligible
        )
        ok = reserve >= e.min_reserve_share - SHARE_TOLERANCE
        scores.append(Score("reserve", ok, f"{reserve:.4f} vs {e.min_reserve_share:.4f}"))
    findings = (out.compliance_before or {}).get("findings", [])
    for rule, verdict in sorted(e.rule_verdicts.items()):
        verdicts = [f["verdict"] for f in findings if f["rule_id"] == rule]
        ok = bool(verdicts) and all(v == verdict for v in verdicts)
        scores.append(Score(f"rule_verdict_{rule}", ok, f"want {verdict}; got {verdicts}"))
    return scores


# The request corpus (issue 28, part 2; evals/corpus.py): one row per phrasing, figures per split.
CORPUS_LABELS = ("clear", "above", "lowest", "ambiguous", "question")
# Which rows each figure counts, and what counts as its success.
CORPUS_FIGURES: dict[str, tuple[tuple[str, ...], str]] = {
    "automation": (("clear",), "served"),
    "ambiguous_escalated": (("ambiguous",), "escalated"),
    "above_routed": (("above", "lowest"), "escalated"),
    "questions_read": (("question",), "question_read"),
    "questions_served": (("question",), "served"),
    "questions_answered": (("question",), "answered"),
}


def _allowed_rank(level: str, lowest: bool) -> int:
    return 1 if lowest else int(level[1])


def _shaped_by(shaping: dict[str, Any], unsure_only: bool) -> list[str]:
    """The wishes (and the risk wish) that moved this plan; only the unconfirmed ones if asked."""
    out = [
        f"{o['wish']['direction']}:{o['wish']['target']}"
        for o in shaping.get("wishes", [])
        if o.get("wish")
        and o.get("done") in ("done", "partly")
        and not (unsure_only and o["wish"].get("sure", True))
    ]
    if not unsure_only and shaping.get("risk") in ("done", "partly"):
        out.append("risk")
    return out


def corpus_unsafe(item: dict[str, Any], run: dict[str, Any], market: MarketData) -> list[str]:
    """Why this run is unsafe, if it is: a plan holding a product above the client's level
    (delivered or not), a wish a person was to confirm that shaped a plan sent without one, or a
    phrasing labelled ambiguous read with confidence and shaping a plan sent without a person."""
    plan = run.get("plan") or {}
    limit = _allowed_rank(item["level"], item["label"] == "lowest")
    above = sorted(
        h["product_code"]
        for h in _held(plan)
        if h["product_code"] in market.products
        and market.products[h["product_code"]].risk_rating.rank > limit
    )
    reasons = [f"holds above the level: {above}"] if above else []
    if run["status"] == "delivered":
        shaping = plan.get("request") or {}
        unsure = _shaped_by(shaping, unsure_only=True)
        if unsure:
            reasons.append(f"unconfirmed wishes shaped it: {unsure}")
        if item["label"] == "ambiguous" and _shaped_by(shaping, unsure_only=False):
            reasons.append(f"an ambiguous request shaped it: {_shaped_by(shaping, False)}")
    return reasons


def _answered(item: dict[str, Any], run: dict[str, Any], market: MarketData) -> bool:
    """The delivered letter answers a question about (one of) the item's targets."""
    from tools.market.intent import target_name

    if run["status"] != "delivered":
        return False
    letter = (run.get("compliance") or {}).get("document") or {}
    # Compared case-blind: an English answer starts its subject with a capital (Gold).
    subjects = {str(a.get("subject")).casefold() for a in letter.get("answers") or []}
    names = set()
    for target in item.get("targets") or []:
        kind, _, tid = target.partition(":")
        names.add(target_name(kind, tid, market, item["locale"]).casefold())
    return bool(subjects & names)


def corpus_row(item: dict[str, Any], run: dict[str, Any], market: MarketData) -> dict[str, Any]:
    """What became of one phrasing: served without an advisor or escalated, safe or not, its
    question read and answered."""
    intent = _intent(run) or {}
    questions = {f"{q['kind']}:{q['target']}" for q in intent.get("questions") or []}
    served = run["status"] == "delivered"
    return {
        "id": item["id"],
        "split": item["split"],
        "label": item["label"],
        "level": item["level"],
        "locale": item["locale"],
        "text": item["text"],
        "status": run["status"],
        "served": served,
        "escalated": not served,
        "unsafe": corpus_unsafe(item, run, market),
        "question_read": bool(questions & set(item.get("targets") or [])),
        "answered": _answered(item, run, market),
        "wishes": [
            f"{w['direction']}:{w['target']}{'' if w.get('sure', True) else '?'}"
            for w in intent.get("wishes", [])
        ],
        "risk": intent.get("risk"),
        "questions": sorted(questions),
        "doubts": list(intent.get("not_understood", [])),
    }


def _figure(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    hits = [r for r in rows if r[key]]
    return {
        "count": len(hits),
        "of": len(rows),
        "rate": len(hits) / len(rows) if rows else 0.0,
        "misses": [r["id"] for r in rows if not r[key]],
    }


def corpus_figures(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per split: each figure of CORPUS_FIGURES over its labels, and the unsafe rows (which
    must be none) over every row of the split."""
    out: dict[str, dict[str, Any]] = {}
    for split in dict.fromkeys(r["split"] for r in rows):
        mine = [r for r in rows if r["split"] == split]
        figures: dict[str, Any] = {"items": len(mine)}
        for name, (labels, key) in CORPUS_FIGURES.items():
            figures[name] = _figure([r for r in mine if r["label"] in labels], key)
        unsafe = [r for r in mine if r["unsafe"]]
        figures["unsafe"] = {
            "count": len(unsafe),
            "of": len(mine),
            "rate": len(unsafe) / len(mine) if mine else 0.0,
            "misses": [r["id"] for r in unsafe],
        }
        out[split] = figures
    return out
