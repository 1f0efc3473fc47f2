"""Conflicts of interest in every jurisdiction: a plan holding the firm's own products names them
in a conflict note (CN-COI-01, EU-COI-01; US: REQ-08 and US-BI-04) with the house-product policy
the plan chose by; the rule fails when the note is taken out of the final text."""

from __future__ import annotations

import pytest
from compliance_helpers import (
    client,
    context,
    fill,
    hits,
    plan,
    profile_of,
    variant_market,
    with_text,
)

from core.schemas.plan import ShelfChoice
from core.settings import CompliancePolicy
from tools.compliance.disclosures import required_wording
from tools.compliance.engine import RuleContext
from tools.compliance.rulebook import shipped_rules

RULES = shipped_rules()
MARKET = variant_market()
HOUSE = fill({"TW-SB-01": 0.2, "510300": 0.2})  # FILLER holds TW-MM-01 too
NOTE = {"CN": "CN-COI-01", "EU": "EU-COI-01", "US": "US-BI-04"}
NAMES = {
    "zh-CN": ["Tierwise 现金增利货币市场基金（TW-MM-01）", "Tierwise 短债债券基金（TW-SB-01）"],
    "en": [
        "Tierwise Cash Plus Money Market Fund (TW-MM-01)",
        "Tierwise Short-Term Bond Fund (TW-SB-01)",
    ],
}


def composed(jurisdiction: str, locale: str, house_products: str = "neutral") -> RuleContext:
    prof = profile_of(client(locale=locale), MARKET)
    pl = plan(HOUSE, prof, MARKET)
    pl = pl.model_copy(update={"shelf": ShelfChoice(house_products=house_products)})  # type: ignore[arg-type]
    return context(prof, pl, MARKET, CompliancePolicy(jurisdiction=jurisdiction))  # type: ignore[arg-type]


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("jurisdiction", ["CN", "EU", "US"])
def test_a_house_product_is_disclosed_as_a_conflict_in_every_jurisdiction(
    jurisdiction: str, locale: str
) -> None:
    ctx = composed(jurisdiction, locale)
    [line] = required_wording(ctx)[NOTE[jurisdiction]]
    assert line in ctx.client_text
    if jurisdiction == "US":
        assert "TW-MM-01, TW-SB-01" in line
    else:
        assert all(name in line for name in NAMES[locale])
    assert NOTE[jurisdiction] not in hits(RULES, ctx)
    cut = with_text(ctx, ctx.client_text.replace(line, ""), letter=ctx.letter)
    assert hits(RULES, cut).get(NOTE[jurisdiction]) == "revise"


@pytest.mark.parametrize(
    ("policy", "zh", "en"),
    [
        ("neutral", "按总费率、再按流动性选择", "we choose by total fees, then liquidity"),
        ("preferred", "本公司产品优先入选", "the firm's own product is chosen first"),
        ("excluded", "仅在没有跟踪同一指数的其他产品时入选", "only where no other product"),
    ],
)
@pytest.mark.parametrize("jurisdiction", ["CN", "EU"])
def test_the_note_states_the_house_product_policy_the_plan_recorded(
    jurisdiction: str, policy: str, zh: str, en: str
) -> None:
    for locale, words in (("zh-CN", zh), ("en", en)):
        [line] = required_wording(composed(jurisdiction, locale, policy))[NOTE[jurisdiction]]
        assert words in line


@pytest.mark.parametrize("jurisdiction", ["CN", "EU"])
def test_no_house_product_no_note(jurisdiction: str) -> None:
    prof = profile_of(client(), MARKET)
    pl = plan({"511990": 0.3, "511880": 0.3, "510300": 0.4}, prof, MARKET)
    ctx = context(prof, pl, MARKET, CompliancePolicy(jurisdiction=jurisdiction))  # type: ignore[arg-type]
    assert required_wording(ctx)[NOTE[jurisdiction]] == []
    assert "利益冲突" not in ctx.client_text


def test_the_new_rules_are_wording_rules_of_their_jurisdiction() -> None:
    for rule_id, jurisdiction in (("CN-COI-01", "CN"), ("EU-COI-01", "EU")):
        rule = RULES.get(rule_id)
        assert rule.kind == "wording" and list(rule.jurisdictions) == [jurisdiction]
        assert rule.verdict == "revise" and rule.source
