"""The one policy for unusable model text (tools/llm/fallback.py), alone and in a whole run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import long_tail_client
from fake_openai import FakeOpenAI, ok
from test_model_runs import answer, run_once, settings_for

from core.services.runs import usage
from core.settings import Settings
from tools.llm.cache import CachingModel
from tools.llm.fallback import usable_text
from tools.llm.offline import OfflineModel
from tools.llm.port import Prompt

NOTE = {"title": "Bonds", "publisher": "House", "as_of": "2026-10-01", "source_id": "N-1"}
Scripted = Callable[..., Any]  # the conftest's `scripted` fixture: a ScriptedModel factory
PROMPT = Prompt("research_summary", "Summarise {items}.", {"locale": "en", "items": [NOTE]})


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(responder=answer) as server:
        yield server


def no_digits(text: str) -> list[str]:
    return [f"digit {c}" for c in text if c.isdigit()]


def test_usable_text_is_the_models_and_adds_nothing_to_the_ledger(scripted: Scripted) -> None:
    model = scripted({"research_summary": ["Dear client, a plan."]})
    worded = usable_text(model, PROMPT, no_digits, OfflineModel(), str.upper)
    assert (worded.text, worded.replaced, worded.problems) == ("DEAR CLIENT, A PLAN.", False, ())
    assert [c.outcome for c in model.calls] == ["ok"]


def test_unusable_text_is_the_offline_models_and_the_ledger_says_why(scripted: Scripted) -> None:
    model, offline = (
        scripted({"research_summary": ["You will earn 20% a year."]}),
        OfflineModel(),
    )
    worded = usable_text(model, PROMPT, no_digits, offline, lambda t: t + "!")
    assert worded.replaced and worded.problems == ("digit 2", "digit 0")
    assert worded.text == offline.text(PROMPT) + "!"
    ok_call, fallback = model.calls
    assert ok_call.outcome == "ok" and fallback.outcome == "fallback"
    assert (fallback.model, fallback.task, fallback.prompt_version) == (
        "scripted",
        "research_summary",
        PROMPT.version,
    )
    assert fallback.error == "unusable text: digit 2; digit 0"
    assert usage([c.as_dict() for c in model.calls])["fallbacks"] == 1


def test_an_offline_model_is_not_replaced_by_itself() -> None:
    offline = OfflineModel()
    worded = usable_text(offline, PROMPT, lambda text: ["always wrong"], offline)
    assert not worded.replaced and worded.problems == ("always wrong",)
    assert [c.outcome for c in offline.calls] == ["ok"]


def test_a_cached_models_fallbacks_stay_in_its_ledger(tmp_path: Path, scripted: Scripted) -> None:
    """CachingModel.calls is computed: a record must land in a ledger it reads back."""
    inner = scripted({"research_summary": ["Call 95588 now."]})
    cached = CachingModel(inner, tmp_path, "record", OfflineModel())
    usable_text(cached, PROMPT, no_digits, OfflineModel())
    assert [c.outcome for c in cached.calls] == ["ok", "fallback"]


def test_a_run_counts_every_text_its_client_never_saw(settings: Settings, fake: FakeOpenAI) -> None:
    """An uncited summary and a rationale with invented figures are replaced and counted."""

    def sloppy(request: dict[str, Any]) -> Any:
        prompt = request["messages"][-1]["content"]
        if prompt.startswith("Summarise these research notes"):
            return ok("Markets look fine to us.")  # cites nothing
        if prompt.startswith("Explain this portfolio"):
            return ok("This plan returns 37.5% a year.")  # a figure the plan does not hold
        return answer(request)

    fake.responder = sloppy
    run, _ = run_once(settings_for(settings, fake.base_url), long_tail_client(client_id="C-FB"))
    fallbacks = [c for c in run.model_calls if c["outcome"] == "fallback"]
    assert sorted(c["task"] for c in fallbacks) == ["rationale", "research_summary"]
    assert (
        "cites no source" in next(c for c in fallbacks if c["task"] == "research_summary")["error"]
    )
    assert "37.5%" in next(c for c in fallbacks if c["task"] == "rationale")["error"]
    assert run.research["summary_fallback"] is True
    assert "37.5" not in run.plan["rationale"]
    assert run.status == "delivered"


def test_the_recorded_reason_is_masked(scripted: Scripted) -> None:
    """The problems quote the model's text; the ledger is stored on the run and served."""
    model = scripted({"research_summary": ["Call 13912345678 or 11010519491231002X."]})
    usable_text(model, PROMPT, lambda text: [f"quotes {text}"], OfflineModel())
    reason = model.calls[-1].error
    assert reason is not None and reason.startswith("unusable text: quotes Call ")
    assert "13912345678" not in reason and "11010519491231002X" not in reason


def test_text_that_already_was_the_offline_models_is_not_replaced_again(
    scripted: Scripted,
) -> None:
    """An adapter that fell back returns the offline text: asking offline again changes
    nothing, and no second fallback is counted."""
    offline_text = OfflineModel().text(PROMPT)
    model = scripted({"research_summary": [offline_text]})
    worded = usable_text(model, PROMPT, lambda text: ["still wrong"], OfflineModel())
    assert worded.text == offline_text and not worded.replaced
    assert worded.problems == ("still wrong",)
    assert [c.outcome for c in model.calls] == ["ok"]
