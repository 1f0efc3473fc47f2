"""`tierwise approvals`, as a subprocess: the review queue as GET /v1/approvals pages it, every
page of it, an advisor's own or everyone's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from factories import make_client, pending_review

from core.database import get_engine, session_scope
from core.services import principals
from core.settings import Settings
from core.tables import Approval

TIERWISE = Path(sys.executable).with_name("tierwise")
PAGE = 50  # approvals.queue's page, which the command follows


def _approvals(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIERWISE_DATABASE_URL": settings.database_url}
    return subprocess.run(
        [str(TIERWISE), "approvals", *args],
        env=env | {"TIERWISE_ENVIRONMENT": "test", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_queue_is_listed_page_after_page_as_the_api_lists_it(settings: Settings) -> None:
    with session_scope(get_engine(settings.database_url)) as session:
        mine = [pending_review(session, make_client(client_id=f"C-Q{n:03d}")) for n in range(53)]
        other = make_client(client_id="C-W", advisor_id="adv-wang")
        theirs = pending_review(session, other)
        decided = pending_review(session, make_client(client_id="C-DONE"))
        decided.status = "approved"
    listed = _approvals(settings, "--advisor", "adv-li")
    assert listed.returncode == 0, listed.stderr
    shown = json.loads(listed.stdout)
    assert len(mine) > PAGE  # more than one page
    assert [a["id"] for a in shown] == oldest_first(mine)  # each once
    # Each item as the API's queue shows it (client_changes included), without its plan.
    assert all("plan" not in a and a["client_changes"] == [] for a in shown)
    everyone = json.loads(_approvals(settings).stdout)
    assert [a["id"] for a in everyone] == oldest_first([*mine, theirs])


def oldest_first(reviews: list[Approval]) -> list[str]:
    return [a.id for a in sorted(reviews, key=lambda a: (a.created_at, a.id))]


def test_an_advisor_who_is_not_one_is_refused_by_name(settings: Settings) -> None:
    with session_scope(get_engine(settings.database_url)) as session:
        principals.create(session, "sup-zhao", "supervisor")
    for name in ("adv-nobody", "sup-zhao"):
        refused = _approvals(settings, "--advisor", name)
        assert refused.returncode == 2 and f"no advisor named '{name}'" in refused.stderr
