"""Impossible client data (DESIGN §5.1): the contract refuses it against today, and the rules
refuse it again, from the run's as_of, for any record that reaches them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from compliance_helpers import client, context, fill, hits, plan, profile, profile_of
from factories import AS_OF, client_data
from pydantic import ValidationError

from agents.profiling import is_stale
from core.schemas.client import ADULT_AGE, MAX_AGE, STORED, ClientInput, Trade
from tools.compliance.engine import RuleSet
from tools.market.market_data import MarketData

TODAY = date.today()


def _refused_fields(data: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        ClientInput.model_validate(data)
    return {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"assessed_on": (TODAY + timedelta(days=1)).isoformat()}, "risk_assessment.assessed_on"),
        ({"assessed_on": "2099-01-01"}, "risk_assessment.assessed_on"),
        ({"birth_year": TODAY.year - ADULT_AGE + 1}, "birth_year"),  # 17 this year
        ({"birth_year": 2100}, "birth_year"),
        ({"birth_year": TODAY.year - MAX_AGE - 1}, "birth_year"),
    ],
    ids=["assessed-tomorrow", "assessed-2099", "aged-17", "born-2100", "aged-121"],
)
def test_the_contract_refuses_impossible_dates(overrides: dict[str, Any], field: str) -> None:
    assert _refused_fields(client_data(**overrides)) == {field}


def test_a_future_trade_is_named_by_its_position() -> None:
    past = {"date": "2026-10-08", "product_code": "510300", "side": "buy", "amount": 1000}
    future = {**past, "date": (TODAY + timedelta(days=1)).isoformat()}
    data = client_data(trades=[past, past, past, future, past, future])
    assert _refused_fields(data) == {"trades.3.date", "trades.5.date"}


@pytest.mark.parametrize("age", [ADULT_AGE, 40, MAX_AGE])
def test_adults_up_to_the_maximum_age_and_today_are_accepted(age: int) -> None:
    trade = {"date": TODAY.isoformat(), "product_code": "510300", "side": "buy", "amount": 1}
    data = client_data(birth_year=TODAY.year - age, assessed_on=TODAY.isoformat(), trades=[trade])
    assert ClientInput.model_validate(data).birth_year == TODAY.year - age


def test_an_assessment_dated_after_as_of_is_never_fresh() -> None:
    assert is_stale(AS_OF + timedelta(days=1), AS_OF, valid_months=24)
    assert is_stale(date(2099, 1, 1), AS_OF, valid_months=24)
    assert not is_stale(AS_OF, AS_OF, valid_months=24)


def _record(**overrides: Any) -> ClientInput:
    """A stored record the contract no longer sees: fields set without validation."""
    return client().model_copy(update=overrides)


def test_an_assessment_after_as_of_blocks_the_plan(market: MarketData, rules: RuleSet) -> None:
    record = _record(
        risk_assessment=client().risk_assessment.model_copy(
            update={"assessed_on": AS_OF + timedelta(days=30)}
        )
    )
    prof = profile_of(record, market)
    assert prof.assessment_stale and prof.assessment_age_months < 0
    found = hits(rules, context(prof, plan(fill({}), prof, market), market))
    assert found["CN-C-04"] == "block"


def test_a_minor_at_as_of_is_escalated(market: MarketData, rules: RuleSet) -> None:
    prof = profile(market).model_copy(update={"age": ADULT_AGE - 1})
    ctx = context(prof, plan(fill({}), prof, market), market)
    found = hits(rules, ctx)
    assert found["CN-IA-02"] == "escalate"
    adult = profile(market).model_copy(update={"age": ADULT_AGE})
    assert "CN-IA-02" not in hits(rules, context(adult, plan(fill({}), adult, market), market))


def test_trades_after_as_of_are_escalated(market: MarketData, rules: RuleSet) -> None:
    later = Trade.model_construct(
        date=AS_OF + timedelta(days=3), product_code="510300", side="buy", amount=1000.0
    )
    prof = profile_of(_record(trades=[later]), market)
    assert any("after 2026-11-25" in item for item in prof.inconsistencies)
    found = hits(rules, context(prof, plan(fill({}), prof, market), market))
    assert found["CN-IA-02"] == "escalate"


def test_a_stored_record_stays_readable_as_the_calendar_moves_on() -> None:
    """The checks are on input: a record stored earlier (or a run's snapshot) is read back."""
    data = client_data(birth_year=TODAY.year - MAX_AGE - 1, assessed_on="2099-01-01")
    assert ClientInput.model_validate(data, context=STORED).birth_year == TODAY.year - MAX_AGE - 1
    with pytest.raises(ValidationError):
        ClientInput.model_validate(data)
