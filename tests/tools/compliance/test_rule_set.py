"""The rule set as data: every rule of COMPLIANCE.md §2-§9 has an id, and the set is coherent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from compliance_helpers import fill, plan, profile, profile_of, variant_market
from factories import hnw_client, long_tail_client, make_client
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import ValidationError

from agents.compliance import check_compliance
from core.settings import CompliancePolicy
from graphs.runner import Runner
from tools.compliance.engine import Registry, Rule, RuleSet, check_rule_set, load_rules
from tools.compliance.evaluators import (
    answers,
    concentration,
    education,
    language,
    request,
    suitability,
    wording,
)
from tools.compliance.evaluators.registry import REGISTRY
from tools.compliance.rulebook import RULES_FILE, shipped_rules
from tools.llm.offline import OfflineModel
from tools.market.market_data import MarketData


def ids(prefix: str, last: int, first: int = 1) -> list[str]:
    return [f"{prefix}-{n:02d}" for n in range(first, last + 1)]


# Read from the rule tables of COMPLIANCE.md: §2 levels and the matrix, §3 mismatch, §4
# disclosures, adviser, AI, records and cooling-off, §5 language and wording, §6 US, §7 EU,
# §8 concentration, §9 personal data (the PII rules of this project).
DOC_RULE_IDS = [
    *ids("CN-CLS", 5), *ids("CN-C", 5), *ids("CN-R", 5), "CN-MATCH-01",
    *ids("CN-MIS", 9),
    *ids("CN-DIS", 7), *ids("CN-IA", 7), *ids("CN-AI", 5), *ids("CN-REC", 4), *ids("CN-COOL", 3),
    "EU-COOL-01", "US-COOL-01",
    *ids("LANG", 8), *ids("REQ", 9),
    *ids("US-BI", 6), *ids("US-2111", 5), *ids("US-COM", 2), "US-SEN-01", "US-REC-01",
    *ids("US-ROBO", 3),
    *ids("EU-SUIT", 9), "EU-CLS-01",
    *ids("DIV-L", 4), *ids("DIV-P", 10),
    *ids("PII", 5),
]  # fmt: skip
RULES = shipped_rules()
BY_ID = {r.id: r for r in RULES.rules}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # CJK text and punctuation


def test_the_doc_list_is_complete_and_unique() -> None:
    assert len(DOC_RULE_IDS) == len(set(DOC_RULE_IDS)) == 117


@pytest.mark.parametrize("rule_id", DOC_RULE_IDS)
def test_every_doc_rule_has_an_id_in_the_rule_set(rule_id: str) -> None:
    assert rule_id in BY_ID


@pytest.mark.parametrize("rule", RULES.rules, ids=lambda r: r.id)
def test_every_rule_speaks_both_languages_and_names_its_source(rule: Rule) -> None:
    assert CJK.search(rule.message_zh), rule.message_zh
    assert rule.message_en.strip() and not CJK.search(rule.message_en)
    assert rule.source.strip()
    assert rule.jurisdictions


@pytest.mark.parametrize(
    "rule", [r for r in RULES.rules if r.kind in ("process", "reference")], ids=lambda r: r.id
)
def test_every_process_or_reference_rule_says_where_it_is_enforced(rule: Rule) -> None:
    assert rule.enforced_by and len(rule.enforced_by.split()) >= 3
    assert not rule.implemented_by and not rule.evaluated
    root = Path(__file__).resolve().parents[3]
    for path in re.findall(r"\b\w+/[\w/]+\.py\b", rule.enforced_by):  # named files exist
        assert (root / path).is_file(), f"{rule.id}: {path}"


@pytest.mark.parametrize("rule", [r for r in RULES.rules if r.implemented_by], ids=lambda r: r.id)
def test_every_implemented_by_target_has_an_evaluator(rule: Rule) -> None:
    for target in rule.implemented_by:
        assert BY_ID[target].evaluated and target in REGISTRY
        assert rule.id in RULES.covers(target)


def test_evaluated_rules_and_evaluators_match_one_to_one() -> None:
    assert {r.id for r in RULES.rules if r.evaluated} == set(REGISTRY)


def _rule(rule_id: str, **extra: object) -> Rule:
    fields = {"source": "test", "severity": "high", "verdict": "revise"}
    return Rule.model_validate(
        {"id": rule_id, "message_zh": "测试", "message_en": "test", **fields, **extra}
    )


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ([_rule("TEST-NO-EVALUATOR")], "rules and evaluators differ"),
        ([_rule("TEST-DANGLING", kind="wording", implemented_by=["NOPE-01"])], "NOPE-01"),
        # A rule enforced only through another rule's evaluator cannot enforce a third one.
        ([_rule("TEST-CHAIN", kind="wording", implemented_by=["CN-MATCH-01"])], "CN-MATCH-01"),
        ([_rule("LANG-01", kind="language")], "duplicate"),
    ],
    ids=["missing-evaluator", "dangling", "chained", "duplicate"],
)
def test_check_rule_set_rejects_an_incoherent_set(extra: list[Rule], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        check_rule_set(RuleSet(version="test", rules=[*RULES.rules, *extra]), REGISTRY)


def test_check_rule_set_rejects_an_evaluator_without_its_rule() -> None:
    without = [r for r in RULES.rules if r.id != "DIV-P-09"]
    with pytest.raises(ValueError, match="DIV-P-09"):
        check_rule_set(RuleSet(version="test", rules=without), REGISTRY)


def test_a_rule_id_has_one_evaluator_in_a_registry() -> None:
    """A family registering an id twice, or two families the same id, is refused at import."""
    family = Registry()
    family.rule("TEST-ONCE")(lambda ctx, rule_id: [])
    with pytest.raises(ValueError, match="TEST-ONCE has two evaluators"):
        family.rule("TEST-ONCE")(lambda ctx, rule_id: [])
    with pytest.raises(ValueError, match="DIV-P-09 has two evaluators"):
        Registry.merge(REGISTRY, {"DIV-P-09": lambda ctx, rule_id: []})
    assert set(Registry.merge(REGISTRY, family)) == set(REGISTRY) | {"TEST-ONCE"}


def test_a_runner_refuses_rules_its_registry_cannot_run(runner: Runner) -> None:
    """A mismatch fails when the runner is built, not as a KeyError in the middle of a run."""
    missing = Rule(
        id="TEST-NO-EVALUATOR", source="test", severity="high", verdict="block",
        message_zh="测试", message_en="test",
    )  # fmt: skip
    with pytest.raises(ValueError, match="TEST-NO-EVALUATOR"):
        Runner(
            settings=runner.settings,
            engine=runner.engine,
            checkpointer=InMemorySaver(),
            market=runner.market,
            rules=RuleSet(version="test", rules=[*RULES.rules, missing]),
            evaluators=REGISTRY,
            model_factory=OfflineModel,
        )


def test_the_shipped_registry_is_every_familys_evaluators() -> None:
    families = (suitability, concentration, language, wording, request, education, answers)
    assert sum(len(f.EVALUATORS) for f in families) == len(REGISTRY)
    assert {r.id for r in RULES.rules if r.evaluated} == set(REGISTRY)


def test_load_rules_refuses_a_file_with_a_missing_evaluator(tmp_path: Path) -> None:
    data = yaml.safe_load(RULES_FILE.read_text("utf-8"))
    data["rules"].append(_rule("TEST-UNKNOWN", kind="check").model_dump(mode="json"))
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(ValueError, match="TEST-UNKNOWN"):
        load_rules(path, REGISTRY)


def test_a_process_rule_without_enforced_by_does_not_load() -> None:
    with pytest.raises(ValidationError, match="where it is enforced"):
        _rule("TEST-PROCESS", kind="process")


@pytest.mark.parametrize("jurisdiction", ["CN", "US", "EU"])
@pytest.mark.parametrize(
    "client", [make_client(), long_tail_client(), hnw_client()], ids=["mid", "long-tail", "hnw"]
)
def test_every_report_names_the_rule_set_version(
    market: MarketData, jurisdiction: str, client: object
) -> None:
    prof = profile_of(client, market)  # type: ignore[arg-type]
    report = check_compliance(
        prof, plan(fill({}), prof, market), client_name="王芳", intent=None,
        market=market, model=OfflineModel(), fallback_model=OfflineModel(),
        policy=CompliancePolicy(jurisdiction=jurisdiction), rules=RULES,
        evaluators=REGISTRY,
    )  # fmt: skip
    assert report.rule_set_version == RULES.version and RULES.version
    assert report.jurisdiction == jurisdiction


def test_a_report_names_the_version_of_the_rules_it_ran() -> None:
    market = variant_market()
    prof = profile(market)
    other = RULES.model_copy(update={"version": "2099.01-test"})
    report = check_compliance(
        prof, plan(fill({"LEV-1": 0.1}), prof, market), client_name="王芳",
        intent=None, market=market, model=OfflineModel(), fallback_model=OfflineModel(),
        policy=CompliancePolicy(), rules=other, evaluators=REGISTRY,
    )  # fmt: skip
    assert report.rule_set_version == "2099.01-test"
    assert report.verdict == "block"  # DIV-P-09: leverage for a C3 client
