"""POST /v1/runs/{id}/special-care/accept and the follow-up calls (issue 28, part 1)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from apihelp import auth, wait_for
from factories import long_tail_client
from fastapi.testclient import TestClient
from specialcarehelp import OFFERED, backdate, delivered_offer

from api.app import create_app
from core.database import get_engine, session_scope
from core.services import audit
from core.settings import Settings, SpecialCarePolicy

ACCEPT = {"acknowledgement": "我已了解半导体ETF与纳指ETF的风险，自愿接受。手机 13912345678"}


def _offer(settings: Settings, *, cooled: bool = True, **kwargs: Any) -> str:
    """A delivered offer, its cooling-off over (the letter went out that long ago) or not."""
    with session_scope(get_engine(settings.database_url)) as session:
        run = delivered_offer(session, **kwargs)
        if cooled:
            backdate(session, run.id, settings.compliance.cooling_off_hours)
        return run.id


def _accept(api: TestClient, tokens: dict[str, str], run_id: str, token: str = "svc-core") -> Any:
    return api.post(
        f"/v1/runs/{run_id}/special-care/accept", json=ACCEPT, headers=auth(tokens[token])
    )


def test_an_acceptance_is_201_with_the_linked_run_and_the_run_is_dispatched(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    offer_id = _offer(settings)
    response = _accept(api, tokens, offer_id)
    assert response.status_code == 201, response.text
    linked = response.json()
    assert linked["parent_run_id"] == offer_id
    assert linked["special_care"]["offered"] == sorted(OFFERED)
    assert linked["special_care"]["offer_run_id"] == offer_id
    assert linked["status"] == "queued"
    # Dispatched as POST /v1/runs dispatches: it leaves the queue and the graph runs it.
    done = wait_for(
        api, linked["id"], tokens["svc-core"], {"awaiting_approval", "delivered", "blocked"}
    )
    assert done["profile"]["risk_level"] == "C4"  # built for the stored client, today
    assert done["parent_run_id"] == offer_id  # the public view keeps the link
    trail = api.get(f"/v1/runs/{offer_id}/audit", headers=auth(tokens["sup-zhao"])).json()
    accepted = [e for e in trail["events"] if e["kind"] == "special_care_accepted"]
    assert accepted[0]["payload"]["run_id"] == linked["id"]
    assert "13912345678" not in str(accepted[0]["payload"])


def test_refusals_name_the_problem(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    early = _offer(settings, cooled=False)
    response = _accept(api, tokens, early)
    assert response.status_code == 409
    assert response.json()["error"] == "CoolingOffNotOver"
    assert "cooling-off ends at" in response.json()["detail"]

    missing = _accept(api, tokens, "run-nowhere")
    assert missing.status_code == 404 and missing.json()["error"] == "RunNotFound"

    offer_id = _offer(settings, client=long_tail_client(client_id="C-LT2", risk_level="C5"))
    blank = api.post(
        f"/v1/runs/{offer_id}/special-care/accept",
        json={"acknowledgement": "  "},
        headers=auth(tokens["svc-core"]),
    )
    assert blank.status_code == 422 and "acknowledgement" in blank.json()["detail"]
    first = _accept(api, tokens, offer_id)
    assert first.status_code == 201
    again = _accept(api, tokens, offer_id)
    assert again.status_code == 409
    assert again.json()["error"] == "OfferAlreadyAccepted"
    assert first.json()["id"] in again.json()["detail"]

    not_delivered = _accept(api, tokens, first.json()["id"])  # the linked run, still running
    assert not_delivered.status_code == 409
    assert not_delivered.json()["error"] == "OfferNotAcceptable"


def test_two_channels_accepting_at_once_get_one_201_and_one_409(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    offer_id = _offer(settings)
    start = threading.Barrier(2)
    answers: list[Any] = []

    def send() -> None:
        start.wait()
        answers.append(_accept(api, tokens, offer_id))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 409], [a.text for a in answers]
    won = next(a for a in answers if a.status_code == 201).json()
    lost = next(a for a in answers if a.status_code == 409).json()
    assert lost["error"] == "OfferAlreadyAccepted" and won["id"] in lost["detail"]
    runs = api.get("/v1/runs?client_id=C-LT&limit=10", headers=auth(tokens["svc-core"])).json()
    linked = [r["id"] for r in runs["items"] if r["parent_run_id"] == offer_id]
    assert linked == [won["id"]]


@pytest.mark.parametrize("who", ["adv-li", "sup-zhao", "eng-chen"])
def test_only_the_firms_channel_accepts(
    api: TestClient, tokens: dict[str, str], settings: Settings, who: str
) -> None:
    assert _accept(api, tokens, _offer(settings), token=who).status_code == 403


@pytest.fixture
def every(settings: Settings) -> Settings:
    """Every acceptance gets a follow-up call."""
    policy = SpecialCarePolicy(callback_share=1.0)
    return settings.model_copy(update={"special_care": policy})


@pytest.fixture
def calling(every: Settings, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(every)) as client:
        yield client


def test_follow_up_calls_are_listed_by_whose_they_are_and_marked_done_once(
    calling: TestClient, tokens: dict[str, str], every: Settings
) -> None:
    mine = _offer(every)
    pooled = _offer(every, client=long_tail_client(client_id="C-LT7", advisor_id=None))
    wangs = _offer(every, client=long_tail_client(client_id="C-LT8", advisor_id="adv-wang"))
    for run_id in (mine, pooled, wangs):
        assert _accept(calling, tokens, run_id).status_code == 201

    def listed(token: str, **params: str) -> list[dict[str, Any]]:
        response = calling.get("/v1/callbacks", params=params, headers=auth(tokens[token]))
        assert response.status_code == 200, response.text
        return response.json()["items"]

    # The pool's calls (a client without an advisor) are for advisors on duty, as its reviews.
    assert {c["client_id"] for c in listed("adv-li")} == {"C-LT"}
    assert {c["client_id"] for c in listed("adv-wang")} == {"C-LT8"}
    duty = {"on_duty": True}
    for name in ("adv-li", "adv-wang"):
        on = calling.put(f"/v1/principals/{name}/duty", json=duty, headers=auth(tokens[name]))
        assert on.status_code == 200, on.text
    assert {c["client_id"] for c in listed("adv-li")} == {"C-LT", "C-LT7"}
    assert {c["client_id"] for c in listed("adv-wang")} == {"C-LT7", "C-LT8"}
    assert {c["client_id"] for c in listed("sup-zhao")} == {"C-LT", "C-LT7", "C-LT8"}
    assert calling.get("/v1/callbacks", headers=auth(tokens["svc-core"])).status_code == 403
    assert len(listed("sup-zhao", limit="1")) == 1

    call = next(c for c in listed("adv-li") if c["client_id"] == "C-LT")
    assert call["offered"] == sorted(OFFERED) and call["advisor_id"] == "adv-li"
    theirs = next(c for c in listed("adv-wang") if c["client_id"] == "C-LT8")
    hidden = calling.post(
        f"/v1/callbacks/{theirs['id']}/done",
        json={"outcome": "confirmed"},
        headers=auth(tokens["adv-li"]),
    )
    assert hidden.status_code == 404
    bad = calling.post(
        f"/v1/callbacks/{call['id']}/done",
        json={"outcome": "maybe"},
        headers=auth(tokens["adv-li"]),
    )
    assert bad.status_code == 422 and "outcome" in bad.json()["detail"]

    body = {"outcome": "concerns", "note": "客户说回电 13912345678，想再考虑"}
    done = calling.post(
        f"/v1/callbacks/{call['id']}/done", json=body, headers=auth(tokens["adv-li"])
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done" and done.json()["done_by"] == "adv-li"
    assert "13912345678" not in done.json()["note"] and "想再考虑" in done.json()["note"]
    twice = calling.post(
        f"/v1/callbacks/{call['id']}/done", json=body, headers=auth(tokens["sup-zhao"])
    )
    assert twice.status_code == 409 and "adv-li" in twice.json()["detail"]
    assert {c["client_id"] for c in listed("adv-li")} == {"C-LT7"}
    assert {c["client_id"] for c in listed("adv-li", status="done")} == {"C-LT"}
    with session_scope(get_engine(every.database_url)) as session:
        kinds = [e.kind for e in audit.events(session, call["run_id"])]
        assert "callback_done" in kinds
