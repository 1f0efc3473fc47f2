"""Eval scenarios and suites: the client input and what must come out of the run."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from core.schemas.client import ClientInput
from core.schemas.vocabulary import DecisionAction, RiskLevel, RiskRating, Tier, Verdict

Route = Literal["delivered", "awaiting_approval", "blocked", "rejected", "failed"]
# What a counterfactual twin must share with its base: the same plan and final status, or (for
# the same request in another language, whose plan records the client's own words) the same
# routing: statuses, verdict, non-pass rules and the plan's weights.
CounterfactualMode = Literal["plan", "routing"]
MatchMode = Literal["strict", "unordered", "subset", "superset"]
EVALS_DIR = Path(__file__).resolve().parent
SUITES_DIR = EVALS_DIR / "suites"


class UnknownSuite(FileNotFoundError):
    """A suite name that is not under evals/suites; its message lists the ones that are."""


class TrajectoryExpectation(BaseModel):
    """Node names to match against the run's trajectory, and how.

    strict: equal; unordered: same multiset; subset: every expected node appears in the run;
    superset: every node of the run is among the expected ones.
    """

    model_config = ConfigDict(extra="forbid")
    mode: MatchMode = "strict"
    nodes: list[str]


class DecisionStep(BaseModel):
    """One scripted advisor decision at the sign-off checkpoint."""

    model_config = ConfigDict(extra="forbid")
    action: DecisionAction
    weights: dict[str, float] | None = None
    comment: str | None = None
    expect_refused: bool = False  # e.g. approving a revision that failed compliance


class Expectation(BaseModel):
    """What the run must produce; every field left out is not scored."""

    model_config = ConfigDict(extra="forbid")
    tier: Tier | None = None
    route: list[Route] = Field(default_factory=list)  # acceptable statuses before any decision
    final_status: list[Route] = Field(default_factory=list)  # after the scripted decisions
    trajectory: TrajectoryExpectation | None = None
    verdict: list[Verdict] = Field(default_factory=list)
    rule_ids: list[str] = Field(default_factory=list)  # must fire (non-pass)
    absent_rule_ids: list[str] = Field(default_factory=list)  # must not fire
    forbidden_products: list[str] = Field(default_factory=list)
    required_disclosures: list[str] = Field(default_factory=list)  # REQ ids
    max_risk_rating: RiskRating | None = None
    max_volatility: float | None = Field(default=None, gt=0)
    risk_level: RiskLevel | None = None
    # The client's request (issue 14): scored only when set.
    wishes: list[str] = Field(default_factory=list)  # "direction:target" in the parsed intent
    understood: bool | None = None  # nothing in the request was left not understood
    shaped: list[str] = Field(default_factory=list)  # targets whose outcome is done or partly
    request_answered: bool | None = None  # the client text answers it (TW-REQ-02 header)
    safer: bool | None = None  # a "safer" wish lowered the plan's volatility
    min_reserve_share: float | None = Field(default=None, ge=0, le=1)  # cash-reserve products
    rule_verdicts: dict[str, Verdict] = Field(default_factory=dict)  # every finding of the rule


class Scenario(BaseModel):
    """One client through the workflow, with its expected outcomes."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    family: str
    tags: list[str] = Field(default_factory=list)
    critical: bool = False
    client: ClientInput
    request: str | None = None
    decisions: list[DecisionStep] = Field(default_factory=list)
    expect: Expectation
    counterfactual_of: str | None = None  # must get the same plan as this scenario
    counterfactual: CounterfactualMode = "plan"  # or only the same routing (see above)
    repeat: int | None = Field(default=None, ge=1, le=20)


class Gate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_pass_rate: float = Field(default=1.0, ge=0, le=1)
    max_regressions: int = Field(default=0, ge=0)


class Suite(BaseModel):
    """A named set of scenario files, a default repeat count and a quality gate."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    scenario_files: list[str]
    repeat: int = Field(default=1, ge=1, le=20)
    as_of: str = "2026-11-25"
    gate: Gate = Field(default_factory=Gate)


def known_suites() -> list[str]:
    """The names of the suites shipped under evals/suites."""
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def suite_file(name: str) -> Path:
    """The file of a shipped suite, by name only: a caller's text never becomes a path here, and
    the error names the suite and the known ones, never where the server keeps them."""
    if name not in known_suites():
        raise UnknownSuite(f"no suite {name!r}; known suites: {', '.join(known_suites())}")
    return SUITES_DIR / f"{name}.yaml"


def load_suite(path_or_name: str) -> tuple[Suite, list[Scenario], str]:
    """A suite by file path or by name under evals/suites, its scenarios, and a content hash."""
    path = Path(path_or_name)
    if not path.is_file() and path.suffix in (".yaml", ".yml"):  # the user's own path: say so
        raise UnknownSuite(
            f"no suite file {path_or_name!r}; known suites: {', '.join(known_suites())}"
        )
    if not path.is_file():
        path = suite_file(path_or_name)
    suite = Suite.model_validate(yaml.safe_load(path.read_text("utf-8")))
    digest = hashlib.sha256(path.read_bytes())
    scenarios: list[Scenario] = []
    for name in suite.scenario_files:
        file = (path.parent / name).resolve()
        digest.update(file.read_bytes())
        for number, line in enumerate(file.read_text("utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    scenarios.append(Scenario.model_validate_json(line))
                except ValueError as exc:
                    raise ValueError(f"{file.name}:{number}: {exc}") from exc
    ids = [s.id for s in scenarios]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate scenario ids in suite {suite.name}")
    known = set(ids)
    dangling = [s.id for s in scenarios if s.counterfactual_of and s.counterfactual_of not in known]
    if dangling:
        raise ValueError(f"counterfactual scenarios without their base: {dangling}")
    return suite, scenarios, digest.hexdigest()


def jsonl(scenarios: list[Scenario]) -> str:
    """Scenarios as a scenario file's text: one per line, defaults left out."""
    lines = [s.model_dump_json(exclude_none=True, exclude_defaults=True) for s in scenarios]
    return "\n".join(lines) + "\n"


def dump_jsonl(scenarios: list[Scenario], path: Path) -> None:
    path.write_text(jsonl(scenarios), "utf-8")


def as_dict(scenario: Scenario) -> dict[str, Any]:
    return scenario.model_dump(mode="json")
