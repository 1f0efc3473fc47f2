"""The C/R matching matrix in full, the single-security thresholds and the professional tests."""

from __future__ import annotations

from typing import Any

import pytest
from compliance_helpers import (
    PRO,
    client,
    context,
    fill,
    hits,
    plan,
    profile_of,
    variant_market,
    verdict_of,
)

from core.schemas.vocabulary import RISK_LEVELS
from core.settings import CompliancePolicy
from tools.compliance.engine import RuleContext, evaluate
from tools.compliance.evaluators.registry import REGISTRY
from tools.compliance.rulebook import shipped_rules

RULES = shipped_rules()
MARKET = variant_market()
CASH = {"TW-MM-01": 0.3, "511990": 0.3}

# Client rows of COMPLIANCE.md §2.3, with the highest product level each may hold.
ROWS: list[tuple[str, dict[str, Any], int]] = [
    ("C1-lowest", {"risk_level": "C1", "lowest_category": True}, 1),
    ("C1", {"risk_level": "C1"}, 1),
    ("C2", {"risk_level": "C2"}, 2),
    ("C3", {"risk_level": "C3"}, 3),
    ("C4", {"risk_level": "C4"}, 4),
    ("C5", {"risk_level": "C5"}, 5),
    ("professional-C2", {**PRO, "risk_level": "C2"}, 5),
]


def build(overrides: dict[str, Any], weights: dict[str, float], jurisdiction: str) -> RuleContext:
    # The MATCH-Rn probes are the CSI 300 ETF under each rating, as volatile as equity whatever
    # the label: the levels' volatility ceilings (TW-VOL-01, test_checks) are lifted here so
    # that the ratings alone decide.
    policy = CompliancePolicy(
        jurisdiction=jurisdiction,  # type: ignore[arg-type]
        volatility_ceiling=dict.fromkeys(RISK_LEVELS, 1.0),
    )
    prof = profile_of(client(**overrides), MARKET, policy)
    return context(prof, plan(weights, prof, MARKET), MARKET, policy)


@pytest.mark.parametrize("jurisdiction", ["CN", "US", "EU"])
@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5], ids=lambda n: f"R{n}")
@pytest.mark.parametrize(("row", "overrides", "limit"), ROWS, ids=[r[0] for r in ROWS])
def test_matching_matrix(
    row: str, overrides: dict[str, Any], limit: int, rating: int, jurisdiction: str
) -> None:
    code = f"MATCH-R{rating}"
    ctx = build(overrides, {**CASH, code: 0.4}, jurisdiction)
    findings, found, verdict = (
        evaluate(RULES, REGISTRY, ctx),
        hits(RULES, ctx),
        verdict_of(RULES, ctx),
    )
    if rating <= limit:
        assert "CN-MIS-03" not in found and "CN-MIS-05" not in found
        assert verdict in ("pass", "escalate")
    elif overrides.get("lowest_category"):
        # Absolutely prohibited: a block, which no advisor can approve.
        assert found["CN-MIS-05"] == "block" and verdict == "block"
    else:
        assert found["CN-MIS-03"] == "revise" and verdict in ("revise", "block")
        remedies = [f.remedy for f in findings if f.rule_id == "CN-MIS-03"]
        assert [(r.kind, r.product_code) for r in remedies if r] == [("exclude", code)]


@pytest.mark.parametrize(
    ("weight", "overrides", "expected"),
    [
        pytest.param(0.10, {}, None, id="10%"),
        pytest.param(0.1001, {}, "escalate", id="10.01%"),
        pytest.param(0.20, {}, "escalate", id="20%"),
        pytest.param(0.2001, {}, "block", id="20.01%"),
        # Over 20% is signed off, not blocked, for a professional investor.
        pytest.param(0.25, PRO, "escalate", id="25%-professional"),
    ],
)
@pytest.mark.parametrize("jurisdiction", ["CN", "US", "EU"])
def test_single_security_escalates_over_10_and_blocks_over_20(
    weight: float, overrides: dict[str, Any], expected: str | None, jurisdiction: str
) -> None:
    ctx = build(overrides, fill({"STK-A": weight}), jurisdiction)
    assert hits(RULES, ctx).get("DIV-P-01") == expected


def test_single_security_thresholds_follow_the_policy() -> None:
    strict = CompliancePolicy(single_security_escalate=0.05, single_security_block=0.08)
    prof = profile_of(client(), MARKET, strict)
    ctx = context(prof, plan(fill({"STK-A": 0.09}), prof, MARKET), MARKET, strict)
    assert hits(RULES, ctx)["DIV-P-01"] == "block"


def test_eu_professional_needs_two_of_three_mifid_criteria() -> None:
    """A Measures professional with one MiFID criterion is retail in the EU, not in China."""
    one_criterion = {**PRO, "trades": [], "risk_level": "C2"}
    weights = {**CASH, "MATCH-R5": 0.4}
    assert "CN-MIS-03" not in hits(RULES, build(one_criterion, weights, "CN"))
    eu = hits(RULES, build(one_criterion, weights, "EU"))
    assert eu["CN-MIS-03"] == "revise" and eu["EU-CLS-01"] == "pass"


@pytest.mark.parametrize(
    ("income", "assets", "experience", "may_apply"),
    [
        (400_000, 1_200_000, 4, True),  # average income >= 300k (Measures Art 11)
        (300_000, 1_200_000, 1, True),  # boundary values qualify ("不低于")
        (299_999, 2_999_999, 4, False),
        (200_000, 3_000_000, 1, True),  # financial assets >= 3M
        (200_000, 3_000_000, 0.5, False),  # under a year of experience
    ],
)
def test_ordinary_client_meeting_art_11_may_apply_for_professional(
    income: float, assets: float, experience: float, may_apply: bool
) -> None:
    """CN-CLS-05: assets >= 3M OR average income >= 300k, plus at least 1 year of experience."""
    overrides = {
        "investor_type": "professional",
        "annual_income": income,
        "financial_assets": assets,
        "investment_experience_years": experience,
    }
    found = hits(RULES, build(overrides, fill({}), "CN"))
    assert ("CN-CLS-05" in found) is may_apply
    assert found["CN-CLS-03"] == "pass"  # not proven professional: treated as ordinary
