"""Trajectory match modes."""

from __future__ import annotations

import pytest

from evals.schema import TrajectoryExpectation
from evals.scorers import match_trajectory

RUN = [
    "profile_client",
    "research_products",
    "allocate_portfolio",
    "check_compliance",
    "allocate_portfolio",
    "check_compliance",
    "advisor_review",
    "deliver_plan",
]


@pytest.mark.parametrize(
    ("mode", "nodes", "ok"),
    [
        ("strict", RUN, True),
        ("strict", RUN[:-1], False),
        ("unordered", list(reversed(RUN)), True),
        ("unordered", sorted(set(RUN)), False),
        ("subset", ["profile_client", "advisor_review", "deliver_plan"], True),
        ("subset", ["block_plan"], False),
        ("superset", [*sorted(set(RUN)), "block_plan", "close_rejected"], True),
        ("superset", ["profile_client", "deliver_plan"], False),
    ],
)
def test_modes(mode: str, nodes: list[str], ok: bool) -> None:
    assert match_trajectory(TrajectoryExpectation(mode=mode, nodes=nodes), RUN) is ok
