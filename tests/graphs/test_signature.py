"""A signed-off letter closes with the advisor as a person: name, registration number, contact
and the decision date. The gate checks that final text, the delivery stores it (and the signed
Letter), and the delivered event's hashes cover both. No login id reaches the client."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from factories import AS_OF, long_tail_client, make_client
from sqlalchemy import update
from test_graph import decide, row, start

import graphs.nodes
from core.database import session_scope
from core.errors import AdvisorUnregistered
from core.schemas.letter import Letter
from core.services import audit, demo, principals, runs
from core.tables import Delivery, Principal
from graphs.runner import Runner
from tools.letter.text import render_text

LOGIN_ID = re.compile(r"\b(?:adv|sup|eng|svc)-[a-z0-9-]+")
ZH_BLOCK = (
    "投资顾问：李明（执业证书编号：S0980120010001）\n"
    "联系方式：上海陆家嘴营业部 021-6888 0001\n"
    f"日期：{AS_OF.isoformat()}"
)
EN_BLOCK = (
    "Your advisor: 李明 (registration no. S0980120010001)\n"
    "Contact: 上海陆家嘴营业部 021-6888 0001\n"
    f"Date: {AS_OF.isoformat()}"
)


def delivered_event(runner: Runner, run_id: str) -> dict[str, Any]:
    with session_scope(runner.engine) as session:
        return next(e.payload for e in audit.events(session, run_id) if e.kind == "delivered")


@pytest.mark.parametrize(("locale", "block"), [("zh-CN", ZH_BLOCK), ("en", EN_BLOCK)])
def test_a_mid_tier_letter_approved_by_adv_li_closes_with_her_signature(
    runner: Runner, locale: str, block: str
) -> None:
    run_id = start(runner, make_client(locale=locale))
    assert row(runner, run_id)["status"] == "awaiting_approval"
    state = decide(runner, run_id)  # adv-li approves, decided on AS_OF
    assert state["status"] == "delivered" and state["delivery"]["approved_by"] == "adv-li"
    text = state["delivery"]["text"]
    assert text == f"{state['compliance']['client_text']}\n\n{block}"
    assert text.endswith(block)
    assert LOGIN_ID.findall(text) == []  # not in the REQ-05 line, the signature, anywhere
    assert delivered_event(runner, run_id)["text_hash"] == (
        hashlib.sha256(text.encode("utf-8")).hexdigest()
    )
    assert state["audit"].verified


def test_a_long_tail_letter_nobody_signed_off_carries_no_signature(runner: Runner) -> None:
    state = row(runner, start(runner, long_tail_client(risk_level="C2", goal="income")))
    assert state["status"] == "delivered" and state["delivery"]["approved_by"] is None
    assert state["delivery"]["text"] == state["compliance"]["client_text"]
    assert "执业证书编号" not in state["delivery"]["text"]
    assert state["delivery"]["document"]["signature"] is None
    assert LOGIN_ID.findall(state["delivery"]["text"]) == []


def test_a_letter_in_sections_is_delivered_signed_and_its_sections_are_audited(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compliance report that carries its Letter (as it will once the agent composes one):
    the delivery is that Letter with the signature filled in, rendered again."""
    checked = graphs.nodes.check_compliance

    def with_document(*args: Any, **kwargs: Any) -> Any:
        report = checked(*args, **kwargs)
        letter = Letter(locale="zh-CN", greeting="", opening=report.client_text, holdings=[],
                        rationale="")  # fmt: skip
        assert render_text(letter) == report.client_text
        return report.model_copy(update={"document": letter})

    monkeypatch.setattr(graphs.nodes, "check_compliance", with_document)
    run_id = start(runner, make_client())
    state = decide(runner, run_id)
    assert state["status"] == "delivered"
    delivery = state["delivery"]
    signed = Letter.model_validate(delivery["document"])
    assert signed.signature is not None and signed.signature.on == AS_OF
    assert (signed.signature.name, signed.signature.registration) == ("李明", "S0980120010001")
    assert delivery["text"] == render_text(signed) and delivery["text"].endswith(ZH_BLOCK)
    payload = delivered_event(runner, run_id)
    assert payload["document_hash"] == audit.document_hash(delivery["document"])
    assert state["audit"].verified
    forged = {**delivery["document"], "signature": {**delivery["document"]["signature"],
                                                    "name": "王静"}}  # fmt: skip
    with session_scope(runner.engine) as session:
        session.execute(update(Delivery).where(Delivery.run_id == run_id).values(document=forged))
    broken = row(runner, run_id)["audit"]
    assert not broken.verified and "document_hash" in (broken.reason or "")


@pytest.mark.parametrize(
    ("contact", "rule"),
    [("手机 139 1234 5678", "PII-02"), ("li.ming@broker.example.cn", "PII-04")],
)
def test_the_gate_checks_the_signature_too(runner: Runner, contact: str, rule: str) -> None:
    """A contact written around the service (straight into the table) still cannot reach a
    client: the rules run on the signed text, and the delivery is refused."""
    with session_scope(runner.engine) as session:
        session.execute(update(Principal).where(Principal.name == "adv-li").values(contact=contact))
    run_id = start(runner, make_client())
    state = decide(runner, run_id)
    assert state["status"] == "failed" and state["deliveries"] == 0
    with session_scope(runner.engine) as session:
        error = runs.get(session, run_id).error or ""
    assert error.startswith("ComplianceGateError: delivery refused") and rule in error
    assert "139" not in error and "li.ming" not in error  # the error names rules, not the data


def test_an_advisor_without_a_registration_cannot_approve_until_registered(
    runner: Runner,
) -> None:
    run_id = start(runner, make_client())
    with session_scope(runner.engine) as session:
        principals.update(session, "adv-li", {"registration": None})
    with pytest.raises(AdvisorUnregistered, match="adv-li has no registration"):
        decide(runner, run_id)
    state = row(runner, run_id)
    assert state["status"] == "awaiting_approval" and state["approval"]["status"] == "pending"
    with session_scope(runner.engine) as session:
        principals.update(session, "adv-li", demo.DEMO_PEOPLE["adv-li"])
    assert decide(runner, run_id)["delivery"]["text"].endswith(ZH_BLOCK)
