"""Demo data: advisors, a supervisor, an engineer, a service principal and a dozen clients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session

from core.schemas.client import ClientInput
from core.schemas.vocabulary import Role
from core.services import clients, principals

DEMO_CLIENTS = Path(__file__).resolve().parents[1] / "data" / "demo_clients.jsonl"
DEMO_PRINCIPALS: list[tuple[str, Role]] = [
    ("adv-li", "advisor"),
    ("adv-wang", "advisor"),
    ("sup-zhao", "supervisor"),
    ("eng-chen", "engineer"),
    ("svc-core", "service"),
]


def load_clients(path: Path = DEMO_CLIENTS) -> list[ClientInput]:
    """Clients from a JSONL file, one ClientInput per line; a bad line names its number."""
    out = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if line.strip():
            try:
                out.append(ClientInput.model_validate_json(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    return out


def seed(session: Session) -> dict[str, Any]:
    """Create or refresh the demo principals (new tokens) and clients."""
    created = []
    for name, role in DEMO_PRINCIPALS:
        principal, token = principals.create(session, name, role)
        created.append({"name": principal.name, "role": principal.role, "token": token})
    demo = load_clients()
    for client in demo:
        clients.upsert(session, client)
    return {
        "principals": created,
        "clients": [
            {
                "client_id": c.client_id,
                "name": c.name,
                "aum": c.aum,
                "risk_level": c.risk_assessment.level,
                "advisor_id": c.advisor_id,
            }
            for c in demo
        ],
    }
