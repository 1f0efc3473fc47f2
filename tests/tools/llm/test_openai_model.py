"""The OpenAI-compatible provider against a real local server, with faults injected."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fake_openai import FakeOpenAI, Reply, ok
from langgraph.errors import GraphInterrupt

from core.schemas.profile import NoteFacts
from core.settings import ModelPrice, OpenAISettings, Settings
from tools.llm.offline import OfflineModel
from tools.llm.openai import OpenAIModel, extract_json, is_retryable, strip_reasoning
from tools.llm.port import Prompt

FACTS = {
    "liquidity_events": [{"purpose": "house", "within_years": 2, "amount": 300000}],
    "wants_capital_preservation": False,
    "other_facts": ["buying a flat"],
}
PROMPT = Prompt(
    "extract_facts", "Extract facts from: {notes}", {"notes": "两年内购房", "locale": "zh-CN"}
)
TEXT = Prompt(
    "rationale",
    "Explain: {figures}",
    {"figures": "{}", "locale": "en", "data": {"holdings": [], "expected_return": 0.05}},
)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def model_for(fake: FakeOpenAI, **options: Any) -> tuple[OpenAIModel, list[float]]:
    defaults: dict[str, Any] = {"timeout_seconds": 2, "backoff_max_seconds": 0.05}
    settings = Settings(
        llm="openai",
        model="test-model",
        openai_base_url=fake.base_url,
        openai_api_key="test-key",
        openai=OpenAISettings(**{**defaults, **options}),
    )
    model = OpenAIModel(settings, fallback=OfflineModel())
    waits: list[float] = []
    model.sleep = waits.append  # the waits tenacity asked for, without sleeping
    return model, waits


def test_structured_output_uses_the_json_schema_and_counts_tokens(fake: FakeOpenAI) -> None:
    fake.queue(ok(json.dumps(FACTS)))
    model, _ = model_for(fake, prices={"test-model": ModelPrice(input=0.004, output=0.016)})
    facts = model.structured(PROMPT, NoteFacts)
    assert facts.liquidity_events[0].amount == 300000
    request = fake.requests[0]["body"]
    assert request["model"] == "test-model"
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["name"] == "NoteFacts"
    call = model.calls[0]
    assert (call.outcome, call.tokens_in, call.tokens_out, call.attempts) == ("ok", 100, 20, 1)
    assert call.cost == pytest.approx((100 * 0.004 + 20 * 0.016) / 1000)
    assert call.prompt_version == PROMPT.version and call.task == "extract_facts"


@pytest.mark.parametrize(
    ("mode", "content", "response_format"),
    [
        ("json_object", json.dumps(FACTS), {"type": "json_object"}),
        ("tagged", f"Sure.\n<json>{json.dumps(FACTS)}</json>", None),
        ("json_schema", f"```json\n{json.dumps(FACTS)}\n```", "json_schema"),
    ],
)
def test_each_structured_mode(
    fake: FakeOpenAI, mode: str, content: str, response_format: Any
) -> None:
    fake.queue(ok(content))
    model, _ = model_for(fake, structured_output=mode)
    assert model.structured(PROMPT, NoteFacts).other_facts == ["buying a flat"]
    sent = fake.requests[0]["body"].get("response_format")
    if response_format == "json_schema":
        assert sent["type"] == "json_schema"
    else:
        assert sent == response_format
    if mode != "json_schema":
        assert '"liquidity_events"' in fake.requests[0]["body"]["messages"][0]["content"]


def test_reasoning_blocks_are_stripped(fake: FakeOpenAI) -> None:
    thinking = '<think>The user wants C5, maybe {"risk": 5}</think>\n'
    fake.queue(
        ok(thinking + json.dumps(FACTS), reasoning="long chain of thought"),
        ok("<think>draft</think>The plan is balanced."),
    )
    model, _ = model_for(fake)
    assert model.structured(PROMPT, NoteFacts).liquidity_events[0].purpose == "house"
    assert model.text(TEXT) == "The plan is balanced."
    assert strip_reasoning("<think>unterminated reasoning") == ""
    assert extract_json('<think>{"a": 1}</think> {"b": 2}', tagged=False) == '{"b": 2}'


def test_429_honours_retry_after(fake: FakeOpenAI) -> None:
    fake.queue(
        Reply(status=429, headers={"Retry-After": "3"}, content="slow down"), ok(json.dumps(FACTS))
    )
    model, waits = model_for(fake)
    model.structured(PROMPT, NoteFacts)
    assert waits == [3.0]
    assert model.calls[0].attempts == 2 and model.calls[0].outcome == "ok"


def test_5xx_is_retried_with_backoff_then_succeeds(fake: FakeOpenAI) -> None:
    fake.queue(Reply(status=500), Reply(status=503), ok("fine"))
    model, waits = model_for(fake)
    assert model.text(TEXT) == "fine"
    assert len(waits) == 2 and all(0 <= w <= 0.05 for w in waits)
    assert len(fake.requests) == 3


def test_other_4xx_is_never_retried_and_falls_back(fake: FakeOpenAI) -> None:
    fake.queue(Reply(status=400, content="bad request"))
    model, waits = model_for(fake)
    text = model.text(TEXT)
    assert len(fake.requests) == 1 and waits == []
    assert model.calls[0].outcome == "fallback" and "BadRequestError" in model.calls[0].error
    assert text == OfflineModel().text(TEXT)


def test_persistent_5xx_exhausts_attempts_then_falls_back(fake: FakeOpenAI) -> None:
    model, _ = model_for(fake, max_attempts=3)  # the server has no script: always 500
    facts = model.structured(PROMPT, NoteFacts)
    assert len(fake.requests) == 3
    assert model.calls[0].outcome == "fallback"
    assert facts == OfflineModel().structured(PROMPT, NoteFacts)


def test_a_slow_server_times_out_and_falls_back(fake: FakeOpenAI) -> None:
    fake.queue(Reply(delay=1.0, content="late"), Reply(delay=1.0, content="late"))
    model, _ = model_for(fake, timeout_seconds=0.2, max_attempts=2)
    assert model.text(TEXT) == OfflineModel().text(TEXT)
    assert "Timeout" in (model.calls[0].error or "")


def test_malformed_json_body_falls_back(fake: FakeOpenAI) -> None:
    fake.queue(Reply(raw=b"{not json"), Reply(raw=b"{not json"))
    model, _ = model_for(fake, max_attempts=2)
    assert model.structured(PROMPT, NoteFacts) == OfflineModel().structured(PROMPT, NoteFacts)
    assert model.calls[0].outcome == "fallback"


def test_schema_breaking_json_is_reasked_with_the_errors(fake: FakeOpenAI) -> None:
    fake.queue(ok('{"liquidity_events": "not a list"}'), ok(json.dumps(FACTS)))
    model, _ = model_for(fake)
    assert model.structured(PROMPT, NoteFacts).liquidity_events[0].within_years == 2
    reask = fake.requests[1]["body"]["messages"]
    assert reask[-2] == {"role": "assistant", "content": '{"liquidity_events": "not a list"}'}
    assert "invalid" in reask[-1]["content"] and "liquidity_events" in reask[-1]["content"]
    assert model.calls[0].attempts == 2


def test_reasks_are_bounded(fake: FakeOpenAI) -> None:
    fake.queue(*[ok("no json here") for _ in range(3)])
    model, _ = model_for(fake, max_reasks=2)
    model.structured(PROMPT, NoteFacts)
    assert len(fake.requests) == 3 and model.calls[0].outcome == "fallback"


@pytest.mark.parametrize("reply", [Reply(refusal="I can't help with that."), ok("")])
def test_refusals_and_empty_answers_fall_back(fake: FakeOpenAI, reply: Reply) -> None:
    fake.queue(reply)
    model, _ = model_for(fake)
    assert model.text(TEXT) == OfflineModel().text(TEXT)
    assert model.calls[0].outcome == "fallback"


def test_the_run_deadline_stops_calling_the_endpoint(fake: FakeOpenAI) -> None:
    model, _ = model_for(fake, run_deadline_seconds=0.001)
    model.deadline = 0  # already past
    model.text(TEXT)
    assert fake.requests == [] and "deadline" in (model.calls[0].error or "")


def test_sensitive_data_is_masked_before_the_prompt_leaves(fake: FakeOpenAI) -> None:
    fake.queue(ok(json.dumps(FACTS)))
    model, _ = model_for(fake)
    notes = "客户手机13912345678，身份证11010519491231002X，邮箱w@example.com"
    model.structured(
        Prompt("extract_facts", "{notes}", {"notes": notes, "locale": "zh-CN"}), NoteFacts
    )
    sent = json.dumps(fake.requests[0]["body"], ensure_ascii=False)
    for raw in ("13912345678", "11010519491231002X", "w@example.com"):
        assert raw not in sent
    assert "139****5678" in sent


def test_retries_never_catch_langgraphs_interrupt() -> None:
    assert is_retryable(GraphInterrupt(())) is False
    assert is_retryable(ValueError("no")) is False
