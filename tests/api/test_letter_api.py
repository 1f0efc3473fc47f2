"""GET /v1/runs/{id}/letter: the letter as the client receives it, as HTML or PDF, to whoever
may see the run; the text it shows is the text the gate checked and the delivered hash covers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apihelp import auth, put_client, wait_for
from factories import AS_OF
from fastapi.testclient import TestClient
from letterdoc import lines, pdf_text, squeezed, text_lines
from sqlmodel import select
from test_api_runs import start

from core.database import get_engine, session_scope
from core.schemas.letter import Letter
from core.services import clients, runs
from core.settings import Settings
from core.tables import Delivery
from tools.letter.text import money, percent, render_text


def waiting_run(api: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    put_client(api, tokens)
    run_id = start(api, tokens)
    return wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})


def document(run: dict[str, Any]) -> Letter:
    return Letter.model_validate(run["compliance"]["document"])


def test_the_letter_awaiting_sign_off_is_the_text_the_gate_checked(
    api: TestClient, tokens: dict[str, str]
) -> None:
    run = waiting_run(api, tokens)
    response = api.get(f"/v1/runs/{run['id']}/letter", headers=auth(tokens["adv-li"]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    letter = document(run)
    assert render_text(letter) == run["compliance"]["client_text"]
    assert lines(response.text) == text_lines(run["compliance"]["client_text"])
    assert f'<html lang="{letter.locale}">' in response.text
    assert "<svg" in response.text and 'role="img"' in response.text  # the allocation chart


def test_the_pdf_carries_the_holdings_table(
    api: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    run = waiting_run(api, tokens)
    response = api.get(
        f"/v1/runs/{run['id']}/letter", params={"format": "pdf"}, headers=auth(tokens["adv-li"])
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="tierwise-letter-{run["id"]}.pdf"'
    path = tmp_path / "letter.pdf"
    path.write_bytes(response.content)
    found = squeezed(pdf_text(path))
    letter = document(run)
    assert letter.holdings
    for h in letter.holdings:
        for cell in (h.name, h.code, percent(h.weight), money(h.amount, letter.locale)):
            assert squeezed(cell) in found, cell


def test_the_delivered_letter_is_the_text_the_delivered_hash_covers(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    run = waiting_run(api, tokens)
    approval = run["approval"]
    decision = {"action": "approve", "plan_hash": approval["plan_hash"]}
    adv = auth(tokens["adv-li"])
    decided = api.post(f"/v1/approvals/{approval['id']}/decision", json=decision, headers=adv)
    assert decided.status_code == 202, decided.text
    wait_for(api, run["id"], tokens["adv-li"], {"delivered"}, decided=approval["id"])
    response = api.get(f"/v1/runs/{run['id']}/letter", headers=adv)
    assert response.status_code == 200, response.text
    with session_scope(get_engine(settings.database_url)) as session:
        delivery = session.exec(select(Delivery).where(Delivery.run_id == run["id"])).one()
        assert lines(response.text) == text_lines(delivery.text)


def test_a_format_other_than_html_or_pdf_is_refused_naming_both(
    api: TestClient, tokens: dict[str, str]
) -> None:
    response = api.get(
        "/v1/runs/run-any/letter", params={"format": "docx"}, headers=auth(tokens["adv-li"])
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ValidationError"
    assert "format" in body["detail"] and "'html'" in body["detail"] and "'pdf'" in body["detail"]


def test_who_may_not_see_the_run_gets_the_same_answer_as_for_the_run(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    put_client(api, tokens)
    with session_scope(get_engine(settings.database_url)) as session:
        run_id = runs.create(session, clients.get(session, "C-1001"), as_of=AS_OF).id
    ghost = run_id[:-1] + ("x" if run_id[-1] != "x" else "y")
    for name in ("adv-wang", "eng-chen"):
        for target in (run_id, ghost):
            as_run = api.get(f"/v1/runs/{target}", headers=auth(tokens[name]))
            as_letter = api.get(f"/v1/runs/{target}/letter", headers=auth(tokens[name]))
            assert as_run.status_code == as_letter.status_code in (403, 404), name
            assert as_run.json() == as_letter.json()
    hidden = api.get(f"/v1/runs/{run_id}/letter", headers=auth(tokens["adv-wang"])).json()
    missing = api.get(f"/v1/runs/{ghost}/letter", headers=auth(tokens["adv-wang"])).json()
    assert hidden["detail"].replace(run_id, ghost) == missing["detail"]
    assert api.get(f"/v1/runs/{run_id}/letter").status_code == 401


def test_a_run_with_no_letter_yet_is_404_saying_so(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    put_client(api, tokens)
    with session_scope(get_engine(settings.database_url)) as session:
        run_id = runs.create(session, clients.get(session, "C-1001"), as_of=AS_OF).id  # queued
    for params in ({}, {"format": "pdf"}):
        response = api.get(
            f"/v1/runs/{run_id}/letter", params=params, headers=auth(tokens["adv-li"])
        )
        assert response.status_code == 404
        body = response.json()
        assert body["error"] == "LetterNotFound"
        assert run_id in body["detail"] and "no letter yet" in body["detail"]
        assert "queued" in body["detail"]


def test_the_letter_is_documented_as_html_or_pdf(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    operation = doc["paths"]["/v1/runs/{run_id}/letter"]["get"]
    content = operation["responses"]["200"]["content"]
    assert set(content) == {"text/html", "application/pdf"}
    assert content["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    (param,) = [p for p in operation["parameters"] if p["in"] == "query"]
    assert param["name"] == "format" and param["schema"]["enum"] == ["html", "pdf"]
    assert param["schema"]["default"] == "html"
    assert {"404", "422"} <= set(operation["responses"])
