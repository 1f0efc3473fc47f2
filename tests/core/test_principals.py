"""Advisors are people: a display name, a registration number and a contact, checked once in
the service for every way in, and an advisor signs a plan off only as a person."""

from __future__ import annotations

import re
from datetime import date

import pytest
from factories import AS_OF, make_client, pending_review
from sqlmodel import Session

from core.database import get_engine, session_scope
from core.errors import AdvisorUnregistered, InvalidPrincipal, PrincipalNotFound
from core.masking import find_sensitive, mask_text
from core.schemas.letter import Signature
from core.services import approvals, clients, demo, principals
from core.settings import Settings
from tools.letter.text import signature_lines

LI = demo.DEMO_PEOPLE["adv-li"]


@pytest.fixture
def session(settings: Settings) -> Session:
    with session_scope(get_engine(settings.database_url)) as s:
        yield s  # type: ignore[misc]


def test_create_stores_the_person_and_keeps_it_when_the_token_rotates(session: Session) -> None:
    made, first = principals.create(
        session,
        "adv-zhou",
        "advisor",
        {"display_name": " 周  婷 ", "registration": "s0980 1230 40005", "contact": None},
    )
    assert (made.display_name, made.registration, made.contact) == ("周 婷", "S0980123040005", None)
    rotated, second = principals.create(session, "adv-zhou", "advisor")
    assert second != first and rotated.token_hash == principals.hash_token(second)
    assert (rotated.display_name, rotated.registration) == ("周 婷", "S0980123040005")
    shown = principals.public(rotated)
    assert "token_hash" not in shown and shown["registration"] == "S0980123040005"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0980120010001", "a letter and 13 digits"),
        ("S098012001000", "a letter and 13 digits"),
        ("S09801200100011", "a letter and 13 digits"),
        ("SS980120010001", "a letter and 13 digits"),
        ("S09801200I0001", "a letter and 13 digits"),
        ("adv-li", "a letter and 13 digits"),
        ("   ", "blank"),
        (
            "S8613912345678",
            "a mobile number",
        ),  # 86 and a mobile: the letter's PII rule would hold it
    ],
)
def test_a_bad_registration_is_refused_naming_the_field_and_nothing_is_stored(
    session: Session, value: str, says: str
) -> None:
    with pytest.raises(InvalidPrincipal, match=says) as refused:
        principals.create(session, "adv-new", "advisor", {**LI, "registration": value})
    assert refused.value.detail.startswith("registration")
    assert principals.by_name(session, "adv-new") is None


@pytest.mark.parametrize(
    ("contact", "kind"),
    [
        ("李明 139 1234 5678", "a mobile number"),
        ("手机：+86 139-1234-5678", "a mobile number"),
        ("li.ming@broker.example.cn", "an e-mail address"),
        ("110105194912310021", "an ID number"),
    ],
)
def test_a_contact_the_letter_would_mask_is_refused(
    session: Session, contact: str, kind: str
) -> None:
    with pytest.raises(InvalidPrincipal) as refused:
        principals.update(session, "adv-li", {"contact": contact})
    detail = refused.value.detail
    assert detail.startswith("contact") and "branch and its office line" in detail
    assert f"holds what reads as {kind} (" in detail
    assert principals.by_name(session, "adv-li").contact == LI["contact"]  # type: ignore[union-attr]


@pytest.mark.parametrize("field", ["display_name", "contact"])
def test_a_line_break_collapses_and_a_control_character_is_refused(
    session: Session, field: str
) -> None:
    assert (
        getattr(principals.update(session, "adv-li", {field: "上海\n分行"}), field) == "上海 分行"
    )
    with pytest.raises(InvalidPrincipal, match=f"^{field} holds control"):
        principals.update(session, "adv-li", {field: "上海\x00分行"})
    with pytest.raises(InvalidPrincipal, match=f"^{field} is longer"):
        principals.update(session, "adv-li", {field: "行" * 121})


@pytest.mark.parametrize("field", ["display_name", "contact"])
def test_the_login_id_is_refused_in_what_a_client_reads(session: Session, field: str) -> None:
    with pytest.raises(InvalidPrincipal, match=f"^{field} holds the login id 'adv-li'"):
        principals.update(session, "adv-li", {field: "ADV-LI 李明"})


def test_update_changes_all_or_nothing_and_clears_with_none(session: Session) -> None:
    with pytest.raises(InvalidPrincipal, match=r"^registration"):
        principals.update(session, "adv-li", {"display_name": "李小明", "registration": "X1"})
    assert principals.by_name(session, "adv-li").display_name == "李明"  # type: ignore[union-attr]
    cleared = principals.update(session, "adv-li", {"contact": None, "display_name": "李小明"})
    assert (cleared.display_name, cleared.contact) == ("李小明", None)
    with pytest.raises(InvalidPrincipal, match="not a principal's field"):
        principals.update(session, "adv-li", {"role": "supervisor"})
    with pytest.raises(PrincipalNotFound):
        principals.update(session, "adv-nobody", {"display_name": "某人"})


def test_a_signature_is_the_person_and_never_the_login_id(session: Session) -> None:
    on = date(2026, 11, 25)
    assert principals.signature(session, "adv-li", on) == Signature(
        name="李明", registration="S0980120010001", contact=LI["contact"], on=on
    )
    principals.update(session, "adv-li", {"registration": None})
    with pytest.raises(AdvisorUnregistered, match="adv-li has no registration"):
        principals.signature(session, "adv-li", on)
    principals.create(session, "adv-bare", "advisor")
    with pytest.raises(AdvisorUnregistered, match="no display_name and no registration"):
        principals.signature(session, "adv-bare", on)


def test_every_demo_advisor_signs_as_a_person_whose_block_survives_masking(
    session: Session,
) -> None:
    seeded = demo.seed(session)
    advisors = [p for p in seeded["principals"] if p["role"] == "advisor"]
    assert {p["name"] for p in advisors} == {"adv-li", "adv-wang"}
    for shown in advisors:
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", shown["display_name"])
        assert re.fullmatch(r"[A-Z][0-9]{13}", shown["registration"]) and shown["contact"]
        signature = principals.signature(session, shown["name"], AS_OF)
        for locale in ("zh-CN", "en"):
            block = "\n".join(signature_lines(signature, locale))
            assert mask_text(block) == block and find_sensitive(block, near_misses=True) == []
            assert shown["name"] not in block


def _decide(session: Session, approval_id: str, plan_hash: str, action: str) -> str:
    decision = {
        "action": action,
        "plan_hash": plan_hash,
        "advisor": "adv-li",
        "decided_on": AS_OF.isoformat(),
        "comment": "客户要求重新考虑" if action == "reject" else None,
    }
    return approvals.decide(session, approval_id, decision, valid_months=24).status


def test_an_advisor_without_a_registration_cannot_approve_but_may_reject(
    session: Session,
) -> None:
    client = make_client()
    clients.upsert(session, client)
    first = pending_review(session, client)
    principals.update(session, "adv-li", {"registration": None})
    with pytest.raises(AdvisorUnregistered, match="adv-li has no registration"):
        _decide(session, first.id, first.plan_hash, "approve")
    assert approvals.get(session, first.id).status == "pending"
    assert _decide(session, first.id, first.plan_hash, "reject") == "rejected"
    second = pending_review(session, make_client(client_id="C-1002"))
    clients.upsert(session, make_client(client_id="C-1002"))
    principals.update(session, "adv-li", {"registration": LI["registration"]})
    assert _decide(session, second.id, second.plan_hash, "approve") == "approved"
