"""The compliance rule set: rules as data (tools/data/rules.yaml) plus one small evaluator each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

from agents.plan import Constraint, Plan
from agents.profiling import ClientProfile
from core.settings import CompliancePolicy
from tools.market import DATA_DIR, MarketData

Verdict = Literal["pass", "revise", "escalate", "block"]
Severity = Literal["info", "low", "medium", "high", "critical"]
# A revise finding outranks an escalation: a plan that must change can never be approved as is.
VERDICT_ORDER: dict[Verdict, int] = {"pass": 0, "escalate": 1, "revise": 2, "block": 3}


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    source: str
    severity: Severity
    verdict: Verdict
    message_zh: str
    message_en: str


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str
    rules: list[Rule]


class Finding(BaseModel):
    """A rule that fired, with what it saw and, for revise rules, what would fix it."""

    rule_id: str
    severity: Severity
    verdict: Verdict
    message: str
    evidence: str
    remedy: Constraint | None = None


@dataclass(frozen=True)
class Hit:
    evidence: str
    remedy: Constraint | None = None


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may look at."""

    profile: ClientProfile
    plan: Plan
    market: MarketData
    policy: CompliancePolicy
    client_text: str
    sources: list[tuple[str, str, str]] = field(default_factory=list)
    requested_products: list[str] = field(default_factory=list)


Evaluator = Callable[[RuleContext, str], list[Hit]]
EVALUATORS: dict[str, Evaluator] = {}


def evaluator(rule_id: str) -> Callable[[Evaluator], Evaluator]:
    def register(fn: Evaluator) -> Evaluator:
        EVALUATORS[rule_id] = fn
        return fn

    return register


@cache
def load_rules(path: Path = DATA_DIR / "rules.yaml") -> RuleSet:
    """The versioned rule set; every rule must have an evaluator and vice versa."""
    import tools.disclosures
    import tools.rule_checks  # noqa: F401  (registers the evaluators)

    rules = RuleSet.model_validate(yaml.safe_load(path.read_text("utf-8")))
    ids = {r.id for r in rules.rules}
    if ids != set(EVALUATORS):
        raise ValueError(f"rules and evaluators differ: {sorted(ids ^ set(EVALUATORS))}")
    return rules


def evaluate(rules: RuleSet, ctx: RuleContext) -> list[Finding]:
    """Run every rule; a finding per hit, in rule-set order."""
    findings = []
    for rule in rules.rules:
        for hit in EVALUATORS[rule.id](ctx, rule.id):
            findings.append(
                Finding(
                    rule_id=rule.id,
                    severity=rule.severity,
                    verdict=rule.verdict,
                    message=rule.message_zh if ctx.profile.locale == "zh-CN" else rule.message_en,
                    evidence=hit.evidence,
                    remedy=hit.remedy,
                )
            )
    return findings


def overall_verdict(findings: list[Finding]) -> Verdict:
    return max((f.verdict for f in findings), key=VERDICT_ORDER.__getitem__, default="pass")
