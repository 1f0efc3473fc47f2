"""`tierwise principal create/update` and `tierwise seed --demo`, as subprocesses: advisors as
people, a bad value refused naming the field, and the token printed once, at creation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.database import get_engine, session_scope
from core.services import principals
from core.settings import Settings

TIERWISE = Path(sys.executable).with_name("tierwise")


def _tierwise(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIERWISE_DATABASE_URL": settings.database_url}
    return subprocess.run(
        [str(TIERWISE), *args],
        env=env | {"TIERWISE_ENVIRONMENT": "test", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _stored(settings: Settings, name: str) -> dict[str, Any] | None:
    with session_scope(get_engine(settings.database_url)) as session:
        found = principals.by_name(session, name)
        return principals.public(found) if found else None


def test_an_advisor_is_created_and_updated_as_a_person(settings: Settings) -> None:
    made = _tierwise(
        settings, "principal", "create", "--role", "advisor", "--name", "adv-zhou",
        "--display-name", "周婷", "--registration", "S0980123040005",
        "--contact", "深圳福田营业部 0755-8888 0005",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout)
    assert shown["token"].startswith("tw_") and shown["display_name"] == "周婷"
    assert shown["registration"] == "S0980123040005"
    changed = _tierwise(
        settings, "principal", "update", "--name", "adv-zhou", "--registration", "s0980123040006",
        "--clear-contact",
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    updated = json.loads(changed.stdout)
    assert "token" not in updated and updated["registration"] == "S0980123040006"
    assert updated["contact"] is None and updated["display_name"] == "周婷"
    assert _stored(settings, "adv-zhou") == updated


def test_a_bad_registration_is_refused_naming_the_field(settings: Settings) -> None:
    refused = _tierwise(
        settings, "principal", "create", "--role", "advisor", "--name", "adv-bad",
        "--display-name", "某人", "--registration", "12345",
    )  # fmt: skip
    assert refused.returncode == 1 and refused.stdout == ""
    assert (
        "InvalidPrincipal" in refused.stderr and "registration must be a letter" in refused.stderr
    )
    assert _stored(settings, "adv-bad") is None
    unknown = _tierwise(settings, "principal", "update", "--name", "adv-nobody", "--contact", "x")
    assert unknown.returncode == 1 and "PrincipalNotFound" in unknown.stderr
    nothing = _tierwise(settings, "principal", "update", "--name", "adv-li")
    assert nothing.returncode == 2 and "nothing to change" in nothing.stderr


def test_the_demo_gives_every_advisor_a_name_a_registration_and_a_contact(
    settings: Settings,
) -> None:
    seeded = _tierwise(settings, "seed", "--demo")
    assert seeded.returncode == 0, seeded.stderr
    advisors = [p for p in json.loads(seeded.stdout)["principals"] if p["role"] == "advisor"]
    assert len(advisors) == 2
    for shown in advisors:
        assert shown["display_name"] and shown["registration"] and shown["contact"]
        assert shown["token"].startswith("tw_")
        assert _stored(settings, shown["name"]) == {k: v for k, v in shown.items() if k != "token"}
