"""The compliance rule engine: rules as data (compliance/data/rules.yaml), evaluated by a registry.

A rule either has its own evaluator (kinds check, language, wording), is enforced by the
evaluators it names in implemented_by, or is a process or reference rule that says where the
system enforces it. load_rules refuses a rule set in which any of this does not hold.

The engine knows no evaluator: the registry (tools/compliance/evaluators) is an argument of
load_rules and evaluate, so a caller, a test or another firm's rule pack passes its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from core.schemas.plan import Constraint, Plan
from core.schemas.profile import ClientProfile
from core.schemas.request import RequestIntent
from core.schemas.special_care import SpecialCareRecord
from core.schemas.vocabulary import Jurisdiction, Severity, Verdict
from core.settings import CompliancePolicy
from tools.market.market_data import MarketData

DATA_DIR = Path(__file__).resolve().parent / "data"
Kind = Literal["check", "language", "wording", "process", "reference"]
# A revise finding outranks an escalation: a plan that must change can never be approved as is.
VERDICT_ORDER: dict[Verdict, int] = {"pass": 0, "escalate": 1, "revise": 2, "block": 3}
EVALUATED_KINDS = ("check", "language", "wording")


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    kind: Kind = "check"
    jurisdictions: tuple[Jurisdiction, ...] = ("CN", "US", "EU")
    status: Literal["V", "R", "P", "U"] = "P"
    source: str
    severity: Severity
    verdict: Verdict
    message_zh: str
    message_en: str
    implemented_by: tuple[str, ...] = ()
    enforced_by: str | None = None

    @model_validator(mode="after")
    def _enforced_somewhere(self) -> Rule:
        if self.kind in ("process", "reference") and not self.enforced_by:
            raise ValueError(f"{self.id}: a {self.kind} rule must say where it is enforced")
        return self

    @property
    def evaluated(self) -> bool:
        """True when this rule has an evaluator of its own."""
        return self.kind in EVALUATED_KINDS and not self.implemented_by


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str
    rules: list[Rule]

    def get(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def covers(self, rule_id: str) -> list[str]:
        """The rules enforced through this rule's evaluator."""
        return [r.id for r in self.rules if rule_id in r.implemented_by]


class Finding(BaseModel):
    """A rule that fired, with what it saw and, for revise rules, what would fix it."""

    rule_id: str
    severity: Severity
    verdict: Verdict
    message: str
    evidence: str
    covers: list[str] = []
    remedy: Constraint | None = None


@dataclass(frozen=True)
class Hit:
    evidence: str
    remedy: Constraint | None = None
    verdict: Verdict | None = None  # overrides the rule's default, e.g. a second threshold


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may look at."""

    profile: ClientProfile
    plan: Plan
    market: MarketData
    policy: CompliancePolicy
    client_text: str
    letter: str = ""
    # (title, publisher, date) of each research note the letter shows, in the client's language
    sources: list[tuple[str, str, str]] = field(default_factory=list)
    intent: RequestIntent | None = None  # the client's own request, as understood
    research_products: list[str] = field(default_factory=list)
    model_name: str = "offline-v1"
    grounding: str = ""  # corpus text the letter may quote numbers from
    client_name: str = ""  # inserted by code from the client's record: never a claim
    # The special-care procedure's record, on a run made by accepting an offer (CN-MIS-07).
    special_care: SpecialCareRecord | None = None


Evaluator = Callable[[RuleContext, str], list[Hit]]
Evaluators = Mapping[str, Evaluator]


class Registry(dict[str, Evaluator]):
    """Evaluators by rule id; `rule` registers one and refuses a second for the same id."""

    def rule(self, rule_id: str) -> Callable[[Evaluator], Evaluator]:
        def register(fn: Evaluator) -> Evaluator:
            if rule_id in self:
                raise ValueError(f"{rule_id} has two evaluators")
            self[rule_id] = fn
            return fn

        return register

    @classmethod
    def merge(cls, *parts: Evaluators) -> Registry:
        """One registry from several; a rule id in two of them is an error."""
        merged = cls()
        for part in parts:
            for rule_id, fn in part.items():
                merged.rule(rule_id)(fn)
        return merged


def check_rule_set(rules: RuleSet, evaluators: Evaluators) -> None:
    """Every evaluated rule has an evaluator, every evaluator a rule, every reference a target."""
    ids = [r.id for r in rules.rules]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate rule ids")
    evaluated = {r.id for r in rules.rules if r.evaluated}
    if evaluated != set(evaluators):
        raise ValueError(f"rules and evaluators differ: {sorted(evaluated ^ set(evaluators))}")
    for rule in rules.rules:
        missing = [i for i in rule.implemented_by if i not in evaluated]
        if missing:
            raise ValueError(f"{rule.id} is implemented by rules without evaluators: {missing}")


def load_rules(path: Path, evaluators: Evaluators) -> RuleSet:
    """The versioned rule set at path, checked against the evaluators that will run it."""
    rules = RuleSet.model_validate(yaml.safe_load(path.read_text("utf-8")))
    check_rule_set(rules, evaluators)
    return rules


def evaluate(rules: RuleSet, evaluators: Evaluators, ctx: RuleContext) -> list[Finding]:
    """Run every evaluated rule of the policy's jurisdiction; a finding per hit."""
    findings = []
    for rule in rules.rules:
        if not rule.evaluated or ctx.policy.jurisdiction not in rule.jurisdictions:
            continue
        for hit in evaluators[rule.id](ctx, rule.id):
            findings.append(
                Finding(
                    rule_id=rule.id,
                    severity=rule.severity,
                    verdict=hit.verdict or rule.verdict,
                    message=rule.message_zh if ctx.profile.locale == "zh-CN" else rule.message_en,
                    evidence=hit.evidence,
                    covers=rules.covers(rule.id),
                    remedy=hit.remedy,
                )
            )
    return findings


def overall_verdict(findings: list[Finding]) -> Verdict:
    return max((f.verdict for f in findings), key=VERDICT_ORDER.__getitem__, default="pass")
