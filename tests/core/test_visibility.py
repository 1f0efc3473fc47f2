"""Who may see a client, a run and an approval is the services' rule, met by every caller.

An advisor sees only their own clients; another advisor's record answers exactly as a missing
one does, so ids cannot be probed. Engineers never read client records; only advisors and
supervisors review plans.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from factories import AS_OF, add_advisors, make_client

from core.database import session_scope
from core.errors import ApprovalNotFound, ClientNotFound, Forbidden, RunNotFound, TierwiseError
from core.services import approvals, clients, principals, runs
from core.tables import Principal
from graphs.runner import Runner


def who(name: str, role: str) -> Principal:
    return Principal(name=name, role=role, token_hash=f"hash-{name}")


def same_answer(
    call: Callable[[], object], error: type[TierwiseError], missing: Callable[[], object]
) -> None:
    """Another advisor's record fails exactly as a missing one: same error, same detail."""
    with pytest.raises(error) as theirs:
        call()
    with pytest.raises(error) as absent:
        missing()
    assert type(theirs.value) is type(absent.value)
    assert str(theirs.value).replace("C-1", "?") == str(absent.value).replace("C-NONE", "?")


def test_a_client_is_visible_to_its_advisor_and_supervisors_only(runner: Runner) -> None:
    with session_scope(runner.engine) as session:
        clients.upsert(session, make_client(client_id="C-1", advisor_id="adv-li"))
    li, wang = who("adv-li", "advisor"), who("adv-wang", "advisor")
    with session_scope(runner.engine) as session:
        assert clients.visible(session, li, "C-1").client_id == "C-1"
        for role in ("supervisor", "service"):
            assert clients.visible(session, who("x", role), "C-1").client_id == "C-1"
        same_answer(
            lambda: clients.visible(session, wang, "C-1"),
            ClientNotFound,
            lambda: clients.visible(session, wang, "C-NONE"),
        )
        with pytest.raises(Forbidden):
            clients.visible(session, who("eng", "engineer"), "C-1")
    assert principals.advisor_scope(li) == "adv-li"
    assert principals.advisor_scope(who("sup", "supervisor")) is None


def test_runs_and_approvals_answer_another_advisor_as_missing(runner: Runner) -> None:
    with session_scope(runner.engine) as session:
        add_advisors(session)
    run = runner.create(make_client(client_id="C-1", advisor_id="adv-li"), as_of=AS_OF)
    done = runner.execute(run.id)
    assert done.status == "awaiting_approval"
    li, wang, sup = who("adv-li", "advisor"), who("adv-wang", "advisor"), who("s", "supervisor")
    with session_scope(runner.engine) as session:
        approval_id = approvals.latest_for_run(session, run.id).id  # type: ignore[union-attr]
        assert runs.visible(session, li, run.id).id == run.id
        assert runs.visible(session, sup, run.id).id == run.id
        with pytest.raises(RunNotFound):
            runs.visible(session, wang, run.id)
        assert approvals.visible(session, li, approval_id).id == approval_id
        with pytest.raises(ApprovalNotFound):
            approvals.visible(session, wang, approval_id)
        for role in ("service", "engineer"):
            with pytest.raises(Forbidden):
                approvals.visible(session, who("x", role), approval_id)
        on, months = AS_OF, runner.settings.compliance.assessment_valid_months
        assert [q["id"] for q, _ in approvals.queue(session, li, on, months)[0]] == [approval_id]
        assert approvals.queue(session, wang, on, months) == ([], None)
        assert len(approvals.queue(session, sup, on, months)[0]) == 1
