"""The sanity gate's override (tools/outcomes/imports.py, core/services/price_imports.py), met by
the CLI and the API alike: its reason checked before anything is staged, recorded and audited
with personal data masked, and audited as an override only when it let a refused line in."""

from __future__ import annotations

import json
from datetime import date

import pytest
from outcomehelp import PRICES, import_csv
from sqlalchemy import Engine, func
from sqlmodel import select

from core.database import get_engine, session_scope
from core.errors import InvalidInput
from core.services import audit, price_imports, prices
from core.services.price_gate import ImplausiblePrices
from core.settings import Settings
from core.tables import REASON_LENGTH, AuditEvent, Price, PriceImport

LONG = "date,code,close\n"
BAD = LONG + "2025-09-01,510300,0.0045\n"  # a fall of 99.9% from the stored close
PHONE, ID_NUMBER = "13912345678", "11010519491231002X"


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return get_engine(settings.database_url)


def _stored(engine: Engine) -> tuple[int, int, int]:
    """Prices stored, imports recorded, events on the audit trail."""
    with session_scope(engine) as session:
        return tuple(  # type: ignore[return-value]
            int(session.exec(select(func.count()).select_from(table)).one())
            for table in (Price, PriceImport, AuditEvent)
        )


def test_an_override_stores_it_records_why_and_audits_it(
    real: Engine, shelf: frozenset[str]
) -> None:
    with pytest.raises(ImplausiblePrices):
        import_csv(real, BAD, shelf)
    reason = "the exchange's restated close, checked by ops"
    stored = import_csv(real, BAD, shelf, override=reason)
    assert (stored["changed"], stored["replaced"], stored["overridden"]) == (1, 1, 1)
    with session_scope(real) as session:
        assert session.get(Price, ("510300", date(2025, 9, 1))).close == 0.0045  # type: ignore[union-attr]
        entry = price_imports.get(session, stored["import_id"])
        assert (entry.actor, entry.override_reason, entry.overridden) == ("test", reason, 1)
        assert entry.overridden_lines[0].startswith("line 2: 510300 moves -99.9%")
        assert entry.version == prices.version(session)
        events = audit.events(session, price_imports.AUDIT_CHAIN)
        assert audit.verify(session, price_imports.AUDIT_CHAIN).verified
        public = price_imports.public(session, entry)
    assert [e.kind for e in events] == ["prices_imported", "prices_overridden"]
    assert (events[1].actor, events[1].payload["id"]) == ("test", stored["import_id"])
    override = {
        "reason": reason,
        "needed": True,
        "overridden": 1,
        "overridden_lines": entry.overridden_lines,
    }
    assert events[1].payload["override"] == public["override"] == override


def test_every_stored_import_is_on_the_audit_chain_and_a_refused_one_is_not(
    engine: Engine, shelf: frozenset[str]
) -> None:
    first = import_csv(engine, LONG + "2024-01-02,510300,3.5\n", shelf)
    with pytest.raises(ImplausiblePrices):
        import_csv(engine, LONG + "2024-01-03,510300,35\n", shelf)
    with session_scope(engine) as session:
        events = session.exec(select(AuditEvent)).all()
    assert [(e.kind, e.payload["id"], e.payload["override"]) for e in events] == [
        ("prices_imported", first["import_id"], None)
    ]


def test_an_override_the_gate_did_not_need_is_audited_as_a_plain_import_and_says_so(
    engine: Engine, shelf: frozenset[str]
) -> None:
    """A reason given with prices the gate refuses nothing of lets nothing in: the audit trail
    has a plain import, and the record keeps the reason with `needed` false."""
    stored = import_csv(engine, LONG + "2024-01-02,510300,3.5\n", shelf, override="just in case")
    assert stored["overridden"] == 0
    with session_scope(engine) as session:
        events = audit.events(session, price_imports.AUDIT_CHAIN)
        public = price_imports.public(session, price_imports.get(session, stored["import_id"]))
    assert [e.kind for e in events] == ["prices_imported"]
    override = {"reason": "just in case", "needed": False, "overridden": 0, "overridden_lines": []}
    assert events[0].payload["override"] == public["override"] == override


def test_personal_data_in_the_reason_is_masked_in_the_record_and_on_the_audit_trail(
    real: Engine, shelf: frozenset[str]
) -> None:
    """The audit trail is append-only: what reaches it unmasked is there for good."""
    reason = f"  confirmed by phone with Wang ({PHONE}), ID {ID_NUMBER}, restated close  "
    stored = import_csv(real, BAD, shelf, override=reason)
    with session_scope(real) as session:
        entry = price_imports.get(session, stored["import_id"])
        public = price_imports.public(session, entry)
        events = audit.events(session, price_imports.AUDIT_CHAIN)
        assert audit.verify(session, price_imports.AUDIT_CHAIN).verified
    masked = "confirmed by phone with Wang (139****5678), ID 110105********002X, restated close"
    assert entry.override_reason == public["override"]["reason"] == masked
    assert events[-1].payload["override"]["reason"] == masked
    for shown in (entry.model_dump_json(), json.dumps(public), json.dumps(events[-1].payload)):
        assert PHONE not in shown and ID_NUMBER not in shown


@pytest.mark.parametrize(
    ("reason", "wrong"),
    [
        ("", "blank"),
        (" \t ", "blank"),
        ("\u200b\u2060\ufe0f", "blank"),  # invisible characters only
        ("\u3000\u2800", "blank"),  # an ideographic space and the braille blank
        ("x" * (REASON_LENGTH + 1), f"{REASON_LENGTH + 1} characters; at most {REASON_LENGTH}"),
        ("restated\x00", "a control character (U+0000)"),
        # within the limit as written, over it once the address is masked (w***@...)
        (
            "x" * (REASON_LENGTH - 15) + " wz@example.com",
            f"{REASON_LENGTH + 2} characters once the personal data in it is masked",
        ),
    ],
)
def test_a_bad_reason_is_refused_before_anything_is_staged(
    real: Engine, shelf: frozenset[str], reason: str, wrong: str
) -> None:
    """Checked first, by the service every caller meets: a reason longer than its column
    failed on PostgreSQL only at the end, after the whole file was staged."""
    before = _stored(real)
    chunks: list[int] = []
    with pytest.raises(InvalidInput) as caught:
        import_csv(real, PRICES.read_text("utf-8"), shelf, override=reason, on_chunk=chunks.append)
    assert type(caught.value) is InvalidInput
    assert caught.value.detail.startswith("the override's reason ")
    assert wrong in caught.value.detail
    assert chunks == [] and _stored(real) == before


def test_a_reason_as_long_as_its_column_is_stored(real: Engine, shelf: frozenset[str]) -> None:
    reason = "restated close, " + "x" * (REASON_LENGTH - 16)
    stored = import_csv(real, BAD, shelf, override=f" {reason} ")
    with session_scope(real) as session:
        entry = price_imports.get(session, stored["import_id"])
    assert entry.override_reason == reason and len(reason) == REASON_LENGTH
