"""Shared fixtures: real databases, market data, a scripted fake model and a network guard."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from databases import scratch_database
from factories import add_advisors
from hypothesis import settings as hypothesis_settings
from pydantic import BaseModel

from core.database import get_engine, session_scope
from core.settings import Settings
from graphs.runner import Runner, open_runner
from tools.compliance.engine import RuleSet
from tools.compliance.rulebook import shipped_rules
from tools.llm.offline import OfflineModel
from tools.llm.port import CallTimer, ModelCall, Prompt, T
from tools.market.market_data import MarketData, load_market

ROOT = Path(__file__).resolve().parents[1]
# CI runs the same examples every time (a new one cannot fail a merge by chance); developers
# get fresh random examples on every run.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")
_real_connect = socket.socket.connect


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public price files beside the project (../shared/data), which the tests read."""
    path = Path(os.environ.get("TIERWISE_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.fail(f"{path} is missing: clone next to shared/ or set TIERWISE_SHARED_DATA")
    return path


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if (
        isinstance(host, str)
        and host not in ("127.0.0.1", "::1", "localhost")
        and self.family
        in (
            socket.AF_INET,
            socket.AF_INET6,
        )
    ):
        raise AssertionError(f"test tried to reach a real endpoint: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that would reach anything but this machine."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(scope="session")
def market() -> MarketData:
    return load_market()


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return shipped_rules()


@contextmanager
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """A fresh database: SQLite in tmp_path, or a new PostgreSQL database dropped afterwards."""
    base = os.environ.get("TIERWISE_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'tierwise.db'}"
        return
    with scratch_database(base, "tw_test") as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings on a fresh database that knows the factories' advisors (only they may decide)."""
    with fresh_database(tmp_path) as url:
        with session_scope(get_engine(url)) as session:
            add_advisors(session)
        yield Settings(environment="test", database_url=url)


@pytest.fixture
def runner(settings: Settings) -> Iterator[Runner]:
    with open_runner(settings) as r:
        yield r


class ScriptedModel:
    """A fake model that answers from a script and fails on any call it was not told about."""

    def __init__(self, script: dict[str, list[Any]], fallback: OfflineModel | None = None) -> None:
        self.name = "scripted"
        self.calls: list[ModelCall] = []
        self.script = {task: list(answers) for task, answers in script.items()}
        self.prompts: list[Prompt] = []
        self.fallback = fallback

    def record(self, call: ModelCall) -> None:
        self.calls.append(call)

    def _next(self, prompt: Prompt) -> Any:
        self.prompts.append(prompt)
        answers = self.script.get(prompt.task)
        if not answers:
            if self.fallback is None:
                raise AssertionError(f"unexpected model call: {prompt.task}")
            return None
        return answers.pop(0)

    def structured(self, prompt: Prompt, schema: type[T]) -> T:
        timer = CallTimer(self.calls, self.name, prompt)
        answer = self._next(prompt)
        if answer is None and self.fallback is not None:
            return self.fallback.structured(prompt, schema)
        result = answer if isinstance(answer, BaseModel) else schema.model_validate(answer)
        timer.done(1, 1)
        return result  # type: ignore[return-value]

    def text(self, prompt: Prompt) -> str:
        timer = CallTimer(self.calls, self.name, prompt)
        answer = self._next(prompt)
        if answer is None and self.fallback is not None:
            return self.fallback.text(prompt)
        timer.done(1, 1)
        return str(answer)

    def assert_done(self) -> None:
        left = {task: answers for task, answers in self.script.items() if answers}
        assert not left, f"scripted answers never asked for: {left}"


@pytest.fixture
def scripted() -> Callable[..., ScriptedModel]:
    return ScriptedModel
