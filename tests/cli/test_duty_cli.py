"""`tierwise principal duty`, `tierwise approvals --pool` and `tierwise claim`, as subprocesses:
an advisor goes on duty, lists the duty pool and claims a review of a client with no advisor;
the first claim wins and the second is told who has it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from factories import make_client, pending_review

from core.database import get_engine, session_scope
from core.services import approvals, clients
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


def test_an_advisor_on_duty_lists_the_pool_and_the_first_claim_wins(settings: Settings) -> None:
    with session_scope(get_engine(settings.database_url)) as session:
        pooled = make_client(client_id="C-POOL", advisor_id=None)
        clients.upsert(session, pooled)
        review = pending_review(session, pooled).id
        own = pending_review(session, make_client(client_id="C-OWN")).id
    off = _tierwise(settings, "claim", review, "--advisor", "adv-li")
    assert off.returncode == 1 and "adv-li is not on duty" in off.stderr
    for name in ("adv-li", "adv-wang"):
        on = _tierwise(settings, "principal", "duty", "--name", name, "--on")
        assert on.returncode == 0, on.stderr
        assert json.loads(on.stdout)["on_duty"] is True
    listed = _tierwise(settings, "approvals", "--pool")
    assert listed.returncode == 0, listed.stderr
    assert [a["id"] for a in json.loads(listed.stdout)] == [review] and own != review
    claimed = _tierwise(settings, "claim", review, "--advisor", "adv-wang")
    assert claimed.returncode == 0, claimed.stderr
    assert json.loads(claimed.stdout)["claimed_by"] == "adv-wang"
    second = _tierwise(settings, "claim", review, "--advisor", "adv-li")
    assert second.returncode == 1 and "ReviewAlreadyClaimed" in second.stderr
    assert "adv-wang claimed this review first" in second.stderr
    assert json.loads(_tierwise(settings, "approvals", "--pool").stdout) == []
    off_again = _tierwise(settings, "principal", "duty", "--name", "adv-li", "--off")
    assert json.loads(off_again.stdout)["on_duty"] is False
    with session_scope(get_engine(settings.database_url)) as session:
        assert approvals.get(session, review).advisor_id == "adv-wang"


def test_only_advisors_go_on_duty_and_both_lists_are_not_asked_at_once(
    settings: Settings,
) -> None:
    refused = _tierwise(settings, "principal", "duty", "--name", "adv-nobody", "--on")
    assert refused.returncode == 1 and "PrincipalNotFound" in refused.stderr
    missing = _tierwise(settings, "principal", "duty", "--name", "adv-li")
    assert missing.returncode == 2
    both = _tierwise(settings, "approvals", "--pool", "--advisor", "adv-li")
    assert both.returncode == 2 and "not both" in both.stderr
