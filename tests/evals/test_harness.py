"""The harness end to end on a small suite: scores, gate, reports, compare, a broken rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import yaml
from factories import client_data

from core.settings import Settings
from evals.compare import compare
from evals.report import write_all
from evals.runner import run_suite
from graphs import nodes
from tools.compliance.evaluators.registry import REGISTRY

PIPELINE = ["profile_client", "research_products", "allocate_portfolio", "check_compliance"]
DISCLOSURES = ["REQ-01", "REQ-02", "REQ-03", "REQ-04", "REQ-05", "REQ-07"]


def scenario(sid: str, client: dict[str, Any], expect: dict[str, Any], **extra: Any) -> dict:
    return {
        "id": sid,
        "family": extra.pop("family", "test"),
        "client": client,
        "expect": expect,
        **extra,
    }


def write_suite(tmp: Path, scenarios: list[dict[str, Any]], min_pass_rate: float = 1.0) -> str:
    (tmp / "cases.jsonl").write_text(
        "\n".join(json.dumps(s, ensure_ascii=False) for s in scenarios)
    )
    suite = {
        "name": "tiny",
        "description": "test",
        "scenario_files": ["cases.jsonl"],
        "gate": {"min_pass_rate": min_pass_rate},
    }
    (tmp / "tiny.yaml").write_text(yaml.safe_dump(suite))
    return str(tmp / "tiny.yaml")


def cases() -> list[dict[str, Any]]:
    long_tail = client_data(client_id="E-LT", aum=200000, liquidity_need=20000, risk_level="C2")
    mid = client_data(client_id="E-MID")
    stale = client_data(
        client_id="E-STALE", aum=200000, liquidity_need=20000, assessed_on="2023-06-01"
    )
    twin = {**mid, "client_id": "E-TWIN", "name": "王强"}
    return [
        scenario(
            "lt",
            long_tail,
            {
                "tier": "long_tail",
                "route": ["delivered"],
                "trajectory": {"mode": "strict", "nodes": [*PIPELINE, "deliver_plan"]},
                "required_disclosures": DISCLOSURES,
                "max_risk_rating": "R2",
            },
        ),
        scenario(
            "mid",
            mid,
            {
                "tier": "mid_tier",
                "route": ["awaiting_approval"],
                "final_status": ["delivered"],
                "forbidden_products": ["512480", "TW-PF-01"],
                "trajectory": {
                    "mode": "strict",
                    "nodes": [*PIPELINE, "advisor_review", "deliver_plan"],
                },
            },
            decisions=[{"action": "approve"}],
        ),
        scenario(
            "mid-twin",
            twin,
            {"final_status": ["delivered"]},
            decisions=[{"action": "approve"}],
            counterfactual_of="mid",
        ),
        scenario(
            "stale",
            stale,
            {
                "route": ["blocked"],
                "rule_ids": ["CN-C-04"],
                "trajectory": {"mode": "subset", "nodes": ["block_plan"]},
            },
            critical=True,
        ),
    ]


@pytest.fixture
def settings_eval(tmp_path: Path) -> Settings:
    return Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'unused.db'}")


def test_a_suite_runs_scores_and_reports(tmp_path: Path, settings_eval: Settings) -> None:
    result = run_suite(write_suite(tmp_path, cases()), settings=settings_eval, repeat=2)
    assert result["schema"] == "tierwise.eval/1"
    assert result["gate"]["passed"], result["gate"]
    summary = result["summary"]
    assert (summary["scenarios"], summary["passed"], summary["repetitions"]) == (4, 4, 8)
    assert summary["pass_rate_ci95"][0] < 1.0 and summary["flaky"] == 0
    assert set(summary["node_latency_ms_p50"]) >= set(PIPELINE)
    prov = result["provenance"]
    assert prov["repeat"] == 2 and prov["rule_set_version"] and len(result["suite"]["hash"]) == 64
    assert {"extract_facts", "rationale", "letter"} <= set(prov["prompt_versions"])
    by_id = {s["id"]: s for s in result["scenarios"]}
    assert by_id["mid"]["pass_hat_k"] == 1.0 and by_id["mid"]["classification"] == "stable_pass"
    names = {sc["name"] for sc in by_id["mid"]["repetitions"][0]["scores"]}
    assert {"suitability", "approval_gate", "leakage", "grounding", "trajectory"} <= names
    assert any(
        sc["name"] == "counterfactual" for sc in by_id["mid-twin"]["repetitions"][0]["scores"]
    )
    paths = write_all(result, tmp_path / "out")
    junit = ET.parse(paths["junit"]).getroot()
    assert junit.get("tests") == "4" and junit.get("failures") == "0"
    page = paths["html"].read_text("utf-8")
    assert "<svg" in page and 'id="q"' in page and "stale" in page
    assert "PASS" in paths["markdown"].read_text("utf-8")


def test_a_broken_rule_fails_the_gate(
    tmp_path: Path, settings_eval: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(REGISTRY, "CN-C-04", lambda ctx, rule_id: [])  # stale no longer blocks
    result = run_suite(write_suite(tmp_path, cases()), settings=settings_eval)
    assert result["gate"]["passed"] is False
    assert any("stale" in reason for reason in result["gate"]["reasons"])
    stale = next(s for s in result["scenarios"] if s["id"] == "stale")
    failed = {sc["name"] for sc in stale["repetitions"][0]["scores"] if not sc["passed"]}
    assert {"route", "rules"} <= failed


def test_an_unsuitable_delivery_fails_the_gate_whatever_the_pass_rate(
    tmp_path: Path, settings_eval: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for rule in ("CN-MIS-03", "CN-R-03", "CN-MIS-07", "DIV-P-03"):
        monkeypatch.setitem(REGISTRY, rule, lambda ctx, rule_id: [])
    mid = client_data(client_id="E-MID")
    bad = scenario(
        "mid-unsuitable",
        mid,
        {},
        decisions=[
            {"action": "revise", "weights": {"TW-MM-01": 0.4, "511260": 0.3, "512480": 0.3}},
            {"action": "approve"},
        ],
    )
    result = run_suite(write_suite(tmp_path, [bad], min_pass_rate=0.0), settings=settings_eval)
    assert result["gate"]["passed"] is False
    assert any("suitability" in c for c in result["summary"]["critical_failures"])


def test_an_unapproved_lowest_category_delivery_fails_the_gate(
    tmp_path: Path, settings_eval: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SYS-02: a graph that sends a lowest-category long-tail plan unsigned fails critically."""
    monkeypatch.setattr(nodes, "owes_signoff", lambda tier, lowest, policy: tier != "long_tail")
    lowest = client_data(
        client_id="E-LOW",
        aum=200000,
        liquidity_need=20000,
        risk_level="C1",
        lowest_category=True,
        goal="preservation",
    )
    suite = write_suite(tmp_path, [scenario("lowest", lowest, {})], min_pass_rate=0.0)
    result = run_suite(suite, settings=settings_eval)
    (rep,) = result["scenarios"][0]["repetitions"]
    assert rep["final_status"] == "delivered" and "advisor_review" not in rep["trajectory"]
    assert rep["critical_failures"] == ["approval_gate"]
    assert result["gate"]["passed"] is False


def test_compare_lists_regressions(
    tmp_path: Path, settings_eval: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = write_suite(tmp_path, cases())
    base = run_suite(suite, settings=settings_eval)
    monkeypatch.setitem(REGISTRY, "CN-C-04", lambda ctx, rule_id: [])
    new = run_suite(suite, settings=settings_eval)
    report = compare(base, new)
    assert report["paired"] == 4 and report["regressions"] == ["stale"]
    assert report["improvements"] == []


def test_an_llm_judge_pinned_to_its_own_model_scores_the_letter(
    tmp_path: Path, settings_eval: Settings
) -> None:
    from fake_openai import FakeOpenAI, ok

    with FakeOpenAI(default=ok('{"score": 4, "rationale": "clear and balanced"}')) as server:
        settings = settings_eval.model_copy(update={"openai_base_url": server.base_url})
        result = run_suite(
            write_suite(tmp_path, cases()[:1]), settings=settings, judge="judge-model"
        )
        sent = {r["body"]["model"] for r in server.requests}
    assert sent == {"judge-model"}  # the generator stayed offline; only the judge was called
    assert result["provenance"]["judge_model"] == "judge-model"
    scores = result["scenarios"][0]["repetitions"][0]["scores"]
    judge = next(s for s in scores if s["name"] == "judge")
    assert judge["passed"] and judge["detail"] == "4/5: clear and balanced"
