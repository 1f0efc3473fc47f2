"""Settings: the OpenAI fields read from either variable and set by their field names; the
volatility ceilings as DESIGN §4 gives them, refused when they make no sense; the trusted
proxies."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from core.database import DEFAULT_CONNECTIONS
from core.settings import AllocationPolicy, CompliancePolicy, Settings

ALIASES = (
    "OPENAI_API_KEY",
    "TIERWISE_OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "TIERWISE_OPENAI_BASE_URL",
)


@pytest.fixture(autouse=True)
def _no_openai_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALIASES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("prefix", ["", "TIERWISE_"])
def test_openai_fields_read_from_either_variable(
    monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    monkeypatch.setenv(f"{prefix}OPENAI_API_KEY", "from-env")
    monkeypatch.setenv(f"{prefix}OPENAI_BASE_URL", "http://env.test/v1")
    settings = Settings()
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "from-env"
    assert settings.openai_base_url == "http://env.test/v1"


def test_openai_fields_set_by_field_name_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    settings = Settings(openai_api_key="from-code", openai_base_url="http://code.test/v1")
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "from-code"
    assert settings.openai_base_url == "http://code.test/v1"


def test_the_default_pool_is_the_default_settings_pool() -> None:
    """get_engine(url) with no size is the engine the server opens with default settings (one
    engine per URL and size): a listener or a check on one is on the other."""
    assert Settings().db_connections == DEFAULT_CONNECTIONS


# DESIGN §4, written out: the policies are checked against these, not against themselves.
DESIGN_CEILINGS = {"C1": 0.01, "C2": 0.04, "C3": 0.10, "C4": 0.15, "C5": 0.20}


def test_the_shipped_volatility_ceilings_are_design_4s() -> None:
    """What the allocation aims under and what the gate holds plans to (TW-VOL-01)."""
    assert AllocationPolicy().volatility_ceiling == DESIGN_CEILINGS
    assert CompliancePolicy().volatility_ceiling == DESIGN_CEILINGS
    shipped = Settings()
    assert shipped.allocation.volatility_ceiling == shipped.compliance.volatility_ceiling
    assert shipped.compliance.volatility_ceiling == DESIGN_CEILINGS


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"C3": None}, "missing C3"),
        ({"C1": 0.0}, "C1=0.0"),
        ({"C5": 1.5}, "C5=1.5"),
        ({"C4": 0.08}, "C4 (0.08) is below C3 (0.1)"),
    ],
    ids=["missing", "zero", "above-one", "falling"],
)
@pytest.mark.parametrize("policy", [AllocationPolicy, CompliancePolicy])
def test_a_ceiling_table_that_makes_no_sense_is_refused(
    policy: type[AllocationPolicy | CompliancePolicy], change: dict[str, Any], named: str
) -> None:
    table = {k: v for k, v in {**DESIGN_CEILINGS, **change}.items() if v is not None}
    with pytest.raises(ValidationError, match=re.escape(named)):
        policy(volatility_ceiling=table)


def test_the_allocation_may_not_aim_above_the_gates_ceiling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue's change (C3 raised to 15% for the allocation) is refused where it is made."""
    raised = json.dumps({**DESIGN_CEILINGS, "C3": 0.15})
    monkeypatch.setenv("TIERWISE_ALLOCATION__VOLATILITY_CEILING", raised)
    with pytest.raises(ValidationError, match=re.escape("C3 0.15 > 0.1")):
        Settings()
    monkeypatch.setenv("TIERWISE_COMPLIANCE__VOLATILITY_CEILING", raised)
    assert Settings().compliance.volatility_ceiling["C3"] == 0.15  # the firm raised both
    monkeypatch.delenv("TIERWISE_ALLOCATION__VOLATILITY_CEILING")
    assert Settings().allocation.volatility_ceiling["C3"] == 0.10  # aiming lower is fine


def test_trusted_proxies_default_to_none_and_read_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().trusted_proxies == ()
    monkeypatch.setenv("TIERWISE_TRUSTED_PROXIES", " 10.0.0.5, 10.1.0.0/16,,::1 ")
    assert Settings().trusted_proxies == ("10.0.0.5", "10.1.0.0/16", "::1")


@pytest.mark.parametrize(
    ("proxies", "named"),
    [("*", "'*'"), ("proxy.internal", "'proxy.internal'"), ("10.0.0.1/8", "host bits set")],
)
def test_a_trusted_proxy_that_is_no_address_or_network_is_refused(proxies: str, named: str) -> None:
    """A "*" would believe anyone's X-Forwarded-For, and uvicorn would read a name or a network
    with host bits as a literal that never matches: each is refused, named."""
    with pytest.raises(ValueError, match="trusted_proxies") as refused:
        Settings(trusted_proxies=proxies)
    assert named in str(refused.value)


@pytest.mark.parametrize(
    "nonsense",
    [{"write_timeout_seconds": 0}, {"max_page_bytes": 100}, {"max_page_bytes": 2**40}],
)
def test_a_write_timeout_or_page_budget_that_makes_no_sense_is_refused(
    nonsense: dict[str, float],
) -> None:
    with pytest.raises(ValidationError, match=next(iter(nonsense))):
        Settings(**nonsense)
