"""The system's words, each defined once: levels, tiers, verdicts, statuses and roles.

Every other module imports these names; a Literal spelled out anywhere else is a second
definition waiting to drift.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

# The client's risk tolerance, from the firm's official assessment (DESIGN §5.1): C1 lowest.
RiskLevel = Literal["C1", "C2", "C3", "C4", "C5"]
RISK_LEVELS: tuple[RiskLevel, ...] = get_args(RiskLevel)
Locale = Literal["zh-CN", "en"]
Goal = Literal["preservation", "income", "balanced", "growth", "aggressive_growth"]
InvestorType = Literal["ordinary", "professional"]
# The service tier from assets under management (DESIGN §2).
Tier = Literal["long_tail", "mid_tier", "hnw"]
Jurisdiction = Literal["CN", "US", "EU"]
# A rule's verdict; the worst finding decides the plan's (tools/compliance/engine.py).
Verdict = Literal["pass", "revise", "escalate", "block"]
Severity = Literal["info", "low", "medium", "high", "critical"]
# What an advisor may decide at the sign-off checkpoint (DESIGN §5.3).
DecisionAction = Literal["approve", "revise", "reject"]
# A run's lifecycle (DESIGN §5.4).
RunStatus = Literal[
    "queued", "running", "awaiting_approval", "delivered", "rejected", "blocked", "failed"
]
FINAL_STATUSES: frozenset[RunStatus] = frozenset({"delivered", "rejected", "blocked", "failed"})
# A batch's lifecycle, and how its progress counts an item: by its run's status, else
# `cancelled` (never started) or `failed` (never got a run: core/services/batches.py).
BatchStatus = Literal["queued", "running", "done", "cancelled"]
BatchItemStatus = Literal[
    "queued",
    "running",
    "awaiting_approval",
    "delivered",
    "rejected",
    "blocked",
    "failed",
    "cancelled",
]
Role = Literal["advisor", "supervisor", "engineer", "service"]
ROLES: tuple[Role, ...] = get_args(Role)


class RiskRating(StrEnum):
    """A product's risk rating, R1 (low) to R5 (high); R_n suits a client of level C_n or above."""

    R1 = "R1"
    R2 = "R2"
    R3 = "R3"
    R4 = "R4"
    R5 = "R5"

    @property
    def rank(self) -> int:
        return int(self.value[1])
