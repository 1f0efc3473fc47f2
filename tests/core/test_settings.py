"""Settings: the OpenAI fields read from either variable and set by their field names."""

from __future__ import annotations

import pytest

from core.database import DEFAULT_CONNECTIONS
from core.settings import Settings

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
