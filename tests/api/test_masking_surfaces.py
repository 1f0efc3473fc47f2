"""Contact data as people type it never comes back from any surface (issue 11 §4)."""

from __future__ import annotations

import html
import itertools
import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

import httpx
import pytest
from apihelp import auth, put_client, wait_for
from formats import Typed, reads, typed_secrets
from hypothesis import HealthCheck, given, settings
from live import serve

from api.app import create_app
from core.masking import find_sensitive
from core.settings import Settings
from tools.llm.offline import OfflineModel

# One of each format the issue lists, each with what must never be readable back.
TYPED = [
    Typed("１３９１２３４５６７８", "13912345678"),
    Typed("١٣٨١٢٣٤٥٦٧٨", "13812345678"),
    Typed("137.1234.5678", "13712345678"),
    Typed("136/1234/5678", "13612345678"),
    Typed("135\u00a01234\u200b5678", "13512345678"),
    Typed("+86 (158) 1234–5678", "15812345678"),
    Typed("tel15912345678", "15912345678"),
    Typed("ID11010519491231002X", "11010519491231002X"),
    Typed("440304 1990 0101 1233", "440304199001011233"),
    Typed("身份证 110105-19491231-0021", "110105194912310021"),  # wrong check digit
    Typed("老证件 110105491231002", "110105491231002"),
    Typed("card6222021234567894", "6222021234567894"),
    Typed("卡号：6222 0212 3456 7895", "6222021234567895"),  # fails Luhn
    Typed("６２２８ ４８００ １２３４ ５６７８ ９４", "622848001234567894"),
    Typed("用户@例子.中国", "用户@例子.中国"),
    Typed("josé@exämple.com", "josé@exämple.com"),
    Typed("ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", "wang@example.com"),
]
BATCH = "；".join(f"备注{i}：{t.text}" for i, t in enumerate(TYPED))
NAME = Typed("王芳 １３９ ８７６５ ４３２１", "13987654321")
_client_ids = itertools.count()


def leaked(surface: str, typed: list[Typed]) -> list[str]:
    """The typed values a reader can read back from the surface, as stored or as shown."""
    return [t.text for t in typed if reads(surface, t.secret)]


def events(api: Any, run_id: str, token: str) -> str:
    """The run's event stream up to now, its JSON data decoded."""
    with api.stream("GET", f"/v1/runs/{run_id}/events?follow=false", headers=auth(token)) as r:
        data = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    return json.dumps(data, ensure_ascii=False)


def inbox_pages(api: Any, token: str, approval_id: str) -> list[str]:
    """The advisor's queue and the plan page, signed in as a browser would."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', api.get("/inbox/login").text)
    assert csrf
    api.post("/inbox/login", data={"token": token, "csrf": csrf.group(1)})
    queue = api.get("/inbox")
    page = api.get(f"/inbox/approvals/{approval_id}")
    assert queue.status_code == page.status_code == 200 and approval_id in queue.text
    return [html.unescape(queue.text), html.unescape(page.text)]


def run_through_sign_off(api: Any, tokens: dict[str, str]) -> tuple[str, list[str], dict[str, Any]]:
    """A run with the batch in notes, request, decision and feedback; its id, inbox pages and
    its approval as the review queue showed it."""
    created = api.post(
        "/v1/runs", json={"client_id": "C-1001", "request": BATCH}, headers=auth(tokens["svc-core"])
    )
    run_id = created.json()["id"]
    wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})
    approval = api.get("/v1/approvals", headers=auth(tokens["adv-li"])).json()["items"][0]
    pages = inbox_pages(api, tokens["adv-li"], approval["id"])
    decision = {"action": "approve", "plan_hash": approval["plan_hash"], "comment": BATCH}
    url = f"/v1/approvals/{approval['id']}/decision"
    assert api.post(url, json=decision, headers=auth(tokens["adv-li"])).status_code == 202
    wait_for(api, run_id, tokens["svc-core"], {"delivered"}, decided=approval["id"])
    feedback = {"rating": 5, "comment": BATCH}
    url = f"/v1/runs/{run_id}/feedback"
    assert api.post(url, json=feedback, headers=auth(tokens["svc-core"])).status_code == 201
    return run_id, pages, approval


def test_typed_contact_data_never_leaks_from_a_run(
    api: Any, tokens: dict[str, str], scripted: Callable[..., Any]
) -> None:
    model = scripted({}, fallback=OfflineModel())  # answers offline, records every prompt
    api.app.state.runner.model_factory = lambda: model
    stored = put_client(api, tokens, name=NAME.text, notes=BATCH)
    run_id, pages, queued = run_through_sign_off(api, tokens)
    sup = auth(tokens["sup-zhao"])
    run = api.get(f"/v1/runs/{run_id}", headers=sup).json()
    intent = run["intent"]
    assert run["request"] and intent and queued["request"]  # the request was read and reviewed
    phrases = [
        *(w["phrase"] for w in intent["wishes"]),
        *(n["phrase"] for n in intent["cash_needs"]),
        *intent["not_understood"],
    ]
    assert phrases  # what the batch holds is not understood: its fragments are kept, masked
    surfaces = {
        "client as stored": json.dumps(stored, ensure_ascii=False),
        "client": api.get("/v1/clients/C-1001", headers=sup).text,
        "run": api.get(f"/v1/runs/{run_id}", headers=sup).text,
        "runs": api.get("/v1/runs", headers=sup).text,
        "audit": api.get(f"/v1/runs/{run_id}/audit", headers=sup).text,
        "events": events(api, run_id, tokens["sup-zhao"]),
        "run request": run["request"],
        "intent phrases": "\n".join(phrases),
        "approval request (queue)": json.dumps(queued["request"], ensure_ascii=False),
        "approval request (run)": json.dumps(run["approval"]["request"], ensure_ascii=False),
        "inbox queue": pages[0],
        "inbox plan page": pages[1],
        "prompts": "\n".join(p.render() for p in model.prompts),
    }
    assert "extract_facts" in {p.task for p in model.prompts}
    assert "139****5678" in surfaces["client"] and "139****4321" in surfaces["inbox queue"]
    # The plan page shows the client's request, its fragments not understood among them.
    assert "客户的要求" in surfaces["inbox plan page"] and "未能理解" in surfaces["inbox plan page"]
    for name, text in surfaces.items():
        assert leaked(text, [*TYPED, NAME]) == [], name
        if name not in ("inbox queue", "inbox plan page"):  # pages hold a random CSRF token
            assert find_sensitive(text, near_misses=True) == [], name


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed=typed_secrets)
def test_typed_values_never_come_back_in_views_or_error_details(
    api: Any, tokens: dict[str, str], typed: Typed
) -> None:
    client_id = f"C-P{next(_client_ids)}"
    put_client(api, tokens, client_id=client_id, name=typed.text[:100], notes=f"备注：{typed.text}")
    svc, adv = auth(tokens["svc-core"]), auth(tokens["adv-li"])
    in_path = quote(typed.text, safe="")
    decision = {"action": "approve", "plan_hash": "a" * 64}
    responses = [
        api.get(f"/v1/clients/{client_id}", headers=svc),
        api.get(f"/v1/clients/{in_path}", headers=svc),
        api.get(f"/v1/runs/{in_path}", headers=svc),
        api.post(f"/v1/approvals/{in_path}/decision", json=decision, headers=adv),
        api.post("/v1/runs", json={"client_id": typed.text[:64]}, headers=svc),
        api.post("/v1/runs", json={"client_id": client_id, typed.text: 1}, headers=svc),
    ]
    assert [r.status_code for r in responses[4:]] == [404, 422]
    for response in responses:
        assert leaked(response.text, [typed]) == [], (typed.text, response.text)


def test_the_access_log_never_holds_typed_values(
    settings: Settings, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    access = logging.getLogger("uvicorn.access")
    with serve(create_app(settings)) as base:
        level = access.level
        access.setLevel(logging.INFO)  # the test server logs warnings only
        access.addHandler(caplog.handler)
        try:
            with httpx.Client(base_url=base, headers=auth(tokens["svc-core"])) as http:
                for typed in TYPED:
                    text = typed.text
                    http.get(f"/v1/clients/{quote(text, safe='')}?q={quote_plus(text)}")
        finally:
            access.removeHandler(caplog.handler)
            access.setLevel(level)
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert len(lines) == len(TYPED) and all(line.endswith(" 404") for line in lines)
    for line in lines:
        assert leaked(unquote_plus(line), TYPED) == [], line
