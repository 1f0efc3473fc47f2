"""Obfuscated contact data in a request reaches no sink and no model (issue 26 §1): the run, the
audit trail, the events, the inbox plan page, the logs and every prompt a local OpenAI-compatible
server receives."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from apihelp import auth, put_client, wait_for
from fake_openai import FakeOpenAI, Reply, ok
from fastapi.testclient import TestClient
from formats import (
    Typed,
    obfuscated_cards,
    obfuscated_emails,
    obfuscated_ids,
    obfuscated_mobiles,
)
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from test_masking_surfaces import inbox_pages, leaked
from test_model_runs import answer, settings_for

from core.settings import Settings

_client_ids = itertools.count()


def reading(body: dict[str, Any]) -> Reply:
    """A model that reads nothing in the request, and answers every other prompt as it should."""
    if body["messages"][-1]["content"].startswith("You read a wealth-management client's"):
        return ok(json.dumps({"wishes": [], "not_understood": []}))
    return answer(body)


@pytest.fixture
def capture() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(responder=reading) as server:
        yield server


@pytest.fixture
def settings(settings: Settings, capture: FakeOpenAI) -> Settings:
    """TIERWISE_LLM=openai against the local capture server."""
    return settings_for(settings, capture.base_url)


def strings(value: Any) -> str:
    """Every string in a JSON value, one a line: what a reader reads of it, unescaped."""
    if isinstance(value, dict):
        return "\n".join(strings(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(strings(v) for v in value)
    return value if isinstance(value, str) else ""


def sinks(api: TestClient, tokens: dict[str, str], run: dict[str, Any]) -> dict[str, str]:
    """The run, its audit trail, its events and its inbox plan page, as a reader reads them."""
    sup = auth(tokens["sup-zhao"])
    url = f"/v1/runs/{run['id']}"
    with api.stream("GET", f"{url}/events?follow=false", headers=sup) as r:
        stream = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    return {
        "run": strings(run),
        "run request": run["request"],
        "not understood": "\n".join(run["intent"]["not_understood"]),
        "audit": strings(api.get(f"{url}/audit", headers=sup).json()),
        "events": strings(stream),
        "inbox plan page": inbox_pages(api, tokens["adv-li"], run["approval"]["id"])[1],
    }


@hypothesis_settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    phases=[Phase.generate],  # each example is a whole run: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    items=st.tuples(
        obfuscated_mobiles,
        obfuscated_ids,
        obfuscated_cards,
        obfuscated_emails,
        obfuscated_mobiles,
        obfuscated_cards,
    )
)
def test_obfuscated_items_reach_no_sink_and_no_model(
    api: TestClient,
    tokens: dict[str, str],
    capture: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
    items: tuple[Typed, ...],
) -> None:
    caplog.set_level(logging.DEBUG)
    text = "；".join(f"请联系{t.text}" for t in items) + "，谢谢。"
    client_id = f"C-O{next(_client_ids)}"
    put_client(api, tokens, client_id=client_id, notes=f"客户留言：{text}")
    del capture.requests[:]
    body = {"client_id": client_id, "request": text}
    run_id = api.post("/v1/runs", json=body, headers=auth(tokens["svc-core"])).json()["id"]
    run = wait_for(api, run_id, tokens["sup-zhao"], {"awaiting_approval"})
    logging.getLogger("tierwise.test").warning("client %s wrote %s", client_id, text)
    shown = sinks(api, tokens, run)
    prompts = [m["content"] for r in capture.requests for m in r["body"]["messages"]]
    # The request reached the model as its own prompt and in the notes' facts prompt.
    assert any(p.startswith("You read a wealth-management client's") for p in prompts)
    assert any(p.startswith("You extract facts") and "客户留言" in p for p in prompts)
    shown["prompts"] = "\n".join(prompts)
    shown["logs"] = "\n".join(r.getMessage() for r in caplog.records)
    assert shown["not understood"] and prompts and client_id in shown["logs"]
    for name, surface in shown.items():
        assert leaked(surface, list(items)) == [], (name, surface)
