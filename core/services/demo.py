"""Demo data: advisors, a supervisor, an engineer, a service principal and a dozen clients.

The demo advisors are people, as letters show them: a Chinese name, a registration number
(执业证书编号, made up in the SAC's form) and the branch's office line."""

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
DEMO_PEOPLE: dict[str, dict[str, str | None]] = {
    "adv-li": {
        "display_name": "李明",
        "registration": "S0980120010001",
        "contact": "上海陆家嘴营业部 021-6888 0001",
    },
    "adv-wang": {
        "display_name": "王静",
        "registration": "S0980121050002",
        "contact": "北京金融街营业部 010-6656 0002",
    },
    "sup-zhao": {"display_name": "赵强", "registration": "S0980118030003", "contact": None},
}


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
        principal, token = principals.create(session, name, role, DEMO_PEOPLE.get(name))
        created.append({**principals.public(principal), "token": token})
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
