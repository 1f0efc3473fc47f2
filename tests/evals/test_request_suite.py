"""The request suite (issue 14): its shape, its zh/en pairs, its scorers, the routing
counterfactual, and that the scenario files are what evals/build_scenarios.py writes."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import client_data

from core.settings import Settings
from evals.build_scenarios import build
from evals.runner import _counterfactuals, counterfactual_differences, run_suite
from evals.schema import EVALS_DIR, Scenario, jsonl, load_suite
from evals.scorers import Outcome, request_scores
from tools.market.market_data import MarketData

FAMILIES = {
    "above_level",
    "lowest_category",
    "tilt",
    "avoid",
    "not_understood",
    "injection",
    "cash",
}
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="module")
def request_suite() -> list[Scenario]:
    suite, scenarios, _ = load_suite("request")
    assert suite.name == "request" and suite.gate.min_pass_rate == 1.0
    assert suite.scenario_files == ["../scenarios/request.jsonl"]
    return scenarios


def test_the_scenario_files_are_what_build_scenarios_writes() -> None:
    folder = EVALS_DIR / "scenarios"
    built = build()
    assert set(built) == {p.stem for p in folder.glob("*.jsonl")}
    for name, scenarios in built.items():
        on_disk = (folder / f"{name}.jsonl").read_text("utf-8")
        assert on_disk == jsonl(scenarios), (
            f"{name}.jsonl is stale: run python -m evals.build_scenarios"
        )


def test_the_request_suite_is_large_and_covers_every_family_and_locale(
    request_suite: list[Scenario],
) -> None:
    assert len(request_suite) >= 40
    assert {s.family for s in request_suite} >= FAMILIES
    assert {s.client.locale for s in request_suite} == {"zh-CN", "en"}
    requests = [s.request or "" for s in request_suite]
    assert all(r.strip() for r in requests)  # every scenario makes a request
    assert any(CJK.search(r) for r in requests) and any(r.isascii() for r in requests)
    for locale in ("zh-CN", "en"):  # each client locale hears requests in both languages
        asked = [s.request or "" for s in request_suite if s.client.locale == locale]
        assert any(CJK.search(r) for r in asked) and any(r.isascii() for r in asked)
    assert {s.expect.tier for s in request_suite} == {"long_tail", "mid_tier", "hnw"}


def test_every_request_scenario_expects_an_answer_and_its_family_routing(
    request_suite: list[Scenario],
) -> None:
    for s in request_suite:
        e = s.expect
        assert e.request_answered is True, s.id
        assert e.understood is ("TW-REQ-01" not in e.rule_ids), s.id
        if s.family == "above_level":
            assert "CN-MIS-06" in e.rule_ids and e.verdict == ["escalate"], s.id
            assert e.rule_verdicts["CN-MIS-06"] == "escalate", s.id
        if s.family == "lowest_category":
            assert s.client.risk_assessment.lowest_category, s.id
            assert "CN-MIS-05" in e.rule_ids and "CN-MIS-06" in e.absent_rule_ids, s.id
            assert e.rule_verdicts["CN-MIS-05"] == "escalate", s.id
            assert e.route == ["awaiting_approval"] and e.max_risk_rating == "R1", s.id
        if s.family in ("not_understood", "injection"):
            # never delivered without an advisor: escalated, whatever the client wrote
            assert e.route == ["awaiting_approval"] and e.verdict == ["escalate"], s.id
            assert "TW-REQ-01" in e.rule_ids or "CN-MIS-05" in e.rule_ids, s.id
        if s.family in ("tilt", "avoid", "cash"):
            assert {"CN-MIS-06", "TW-REQ-01"} <= set(e.absent_rule_ids), s.id
        if s.family == "avoid":
            assert e.wishes and all(w.startswith("avoid:") for w in e.wishes), s.id
        if s.family == "cash":
            assert e.min_reserve_share, s.id


def test_the_injected_requests_keep_the_clients_level(request_suite: list[Scenario]) -> None:
    injected = [s for s in request_suite if s.family == "injection"]
    assert len(injected) >= 6
    for s in injected:
        assert s.expect.risk_level == s.client.risk_assessment.level, s.id
        assert s.critical, s.id
    asked = [s.request or "" for s in injected]
    assert any("忽略之前的指令" in r for r in asked)
    assert any(r.startswith("SYSTEM:") for r in asked)
    assert any(r.startswith("{") for r in asked)  # fake JSON


def test_every_zh_en_pair_has_its_base_and_the_same_client(
    request_suite: list[Scenario],
) -> None:
    by_id = {s.id: s for s in request_suite}
    twins = [s for s in request_suite if s.counterfactual_of]
    assert len(twins) >= 6
    for twin in twins:
        assert twin.counterfactual == "routing", twin.id
        base = by_id.get(twin.counterfactual_of or "")
        assert base is not None, f"{twin.id}: no base {twin.counterfactual_of} in the suite"
        assert base.counterfactual_of is None and base.family == twin.family
        assert CJK.search(base.request or "") and (twin.request or "").isascii(), twin.id
        same = {**twin.client.model_dump(), "client_id": base.client.client_id}
        assert same == base.client.model_dump(), twin.id  # only the request's language differs
        assert twin.expect.wishes == base.expect.wishes, twin.id
    assert {by_id[t.counterfactual_of or ""].client.locale for t in twins} == {"zh-CN", "en"}


def test_the_full_suite_holds_the_request_suite(request_suite: list[Scenario]) -> None:
    full, scenarios, _ = load_suite("full")
    assert "../scenarios/request.jsonl" in full.scenario_files
    assert {s.id for s in request_suite} <= {s.id for s in scenarios}


def rep(**over: Any) -> dict[str, Any]:
    """One repetition's result as the runner records it."""
    base: dict[str, Any] = {
        "passed": True,
        "scores": [],
        "status": "awaiting_approval",
        "final_status": "delivered",
        "verdict": "escalate",
        "rules": ["CN-MIS-06"],
        "plan": {"TW-MM-01": 0.1, "511010": 0.5, "511260": 0.4},
        "run_id": "run-1",
    }
    return {**base, **over}


def results(base: dict[str, Any], twin: dict[str, Any], mode: str) -> dict[str, Any]:
    def one(sid: str, r: dict[str, Any], of: str | None) -> dict[str, Any]:
        return {
            "id": sid,
            "counterfactual_of": of,
            "counterfactual": mode,
            "n": 1,
            "c": int(r["passed"]),
            "repetitions": [r],
        }

    return {"zh": one("zh", base, None), "en": one("en", twin, "zh")}


def test_a_routing_twin_passes_when_only_the_runs_differ_and_fails_when_routing_does() -> None:
    # The same routing and weights from another run (its letter quotes other words): passes.
    out = results(rep(), rep(run_id="run-2", prompt_versions={"letter": "x"}), "routing")
    _counterfactuals(out)
    (score,) = out["en"]["repetitions"][0]["scores"]
    assert score["passed"] and out["en"]["passed"] and score["detail"] == "same routing as zh"
    # A different set of non-pass rules (TW-REQ-01 on the English only) fails the twin.
    out = results(rep(), rep(rules=["CN-MIS-06", "TW-REQ-01"]), "routing")
    _counterfactuals(out)
    (score,) = out["en"]["repetitions"][0]["scores"]
    assert not score["passed"] and not out["en"]["passed"] and "rules" in score["detail"]
    assert out["en"]["c"] == 0 and out["zh"]["repetitions"][0]["scores"] == []


@pytest.mark.parametrize(
    ("change", "differs"),
    [
        ({"status": "delivered"}, ["status"]),
        ({"final_status": "rejected"}, ["final_status"]),
        ({"verdict": "pass"}, ["verdict"]),
        ({"rules": []}, ["rules"]),
        ({"plan": {"TW-MM-01": 1.0}}, ["plan"]),
        ({"run_id": "other", "latency_ms": 9.0}, []),
    ],
)
def test_routing_compares_statuses_verdict_rules_and_weights(
    change: dict[str, Any], differs: list[str]
) -> None:
    assert counterfactual_differences([rep()], [rep(**change)], "routing") == differs


def test_the_plan_mode_is_unchanged() -> None:
    """Existing twins: the same weights and final status; verdict and rules are not compared."""
    assert counterfactual_differences([rep()], [rep(verdict="pass", rules=[])]) == []
    assert counterfactual_differences([rep()], [rep(plan={"TW-MM-01": 1.0})]) == ["plan"]
    assert counterfactual_differences([rep()], [rep(final_status="rejected")]) == ["final_status"]


def scenario(expect: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(
        {"id": "s", "family": "t", "client": client_data(), "request": "x", "expect": expect}
    )


def outcome(text: str = "四、关于您的要求\n您希望多配债券类资产：已按您的要求调整。") -> Outcome:
    wish = {"direction": "more", "kind": "theme", "target": "bond"}
    less = {"direction": "less", "kind": "theme", "target": "equity"}
    run = {
        "status": "delivered",
        "trajectory": [],
        "intent": {"wishes": [wish, less], "not_understood": []},
        "plan": {
            "holdings": [
                {"product_code": "TW-MM-01", "weight": 0.3},
                {"product_code": "511010", "weight": 0.7},
            ],
            "expected_volatility": 0.02,
            "request": {
                "wishes": [
                    {"wish": wish, "done": "done", "before": 0.4, "after": 0.5},
                    {"wish": less, "done": "not_done", "before": 0.0, "after": 0.0},
                ],
                "volatility_before": 0.03,
                "volatility_after": 0.02,
                "risk": "done",
            },
        },
        "compliance": {"client_text": text},
    }
    findings = [
        {"rule_id": "CN-MIS-05", "verdict": "escalate"},
        {"rule_id": "CN-MIS-05", "verdict": "escalate"},
        {"rule_id": "CN-MIS-06", "verdict": "block"},
    ]
    return Outcome(run=run, status_before="delivered", compliance_before={"findings": findings})


def scored(expect: dict[str, Any], out: Outcome, market: MarketData) -> dict[str, bool]:
    return {s.name: s.passed for s in request_scores(scenario(expect), out, market)}


def test_request_scorers_pass_what_the_run_did(market: MarketData) -> None:
    expect = {
        "wishes": ["more:bond", "less:equity"],
        "understood": True,
        "shaped": ["bond"],
        "request_answered": True,
        "safer": True,
        "min_reserve_share": 0.3,
        "rule_verdicts": {"CN-MIS-05": "escalate"},
    }
    assert scored(expect, outcome(), market) == {
        "wishes": True,
        "understood": True,
        "shaped": True,
        "request_answered": True,
        "safer": True,
        "reserve": True,
        "rule_verdict_CN-MIS-05": True,
    }
    assert scored({}, outcome(), market) == {}  # nothing set, nothing scored


def test_request_scorers_fail_what_the_run_did_not(market: MarketData) -> None:
    expect = {
        "wishes": ["avoid:gold"],
        "understood": False,
        "shaped": ["equity"],  # not done
        "request_answered": True,
        "safer": False,
        "min_reserve_share": 0.5,
        "rule_verdicts": {"CN-MIS-06": "escalate", "TW-REQ-01": "escalate"},
    }
    got = scored(expect, outcome(text="投资有风险，入市需谨慎。"), market)
    assert not any(got.values()), got
    assert set(got) == {
        "wishes",
        "understood",
        "shaped",
        "request_answered",
        "safer",
        "reserve",
        "rule_verdict_CN-MIS-06",
        "rule_verdict_TW-REQ-01",
    }


def test_the_intent_is_read_from_the_profile_without_the_api_view(market: MarketData) -> None:
    out = outcome(text="4. About your request\nYou asked to hold more bonds: done.")
    out.run["profile"] = {"request_intent": out.run.pop("intent")}
    got = scored({"wishes": ["more:bond"], "request_answered": True}, out, market)
    assert got == {"wishes": True, "request_answered": True}


def test_a_zh_en_pair_and_a_refusal_pass_end_to_end(tmp_path: Path) -> None:
    """Three request scenarios from the shipped file through the real graph and harness."""
    wanted = ("req-inject-lt-c2-zh", "req-inject-lt-c2-en", "req-lowest-hs300-lt-zh")
    lines = (EVALS_DIR / "scenarios" / "request.jsonl").read_text("utf-8").splitlines()
    picked = [line for line in lines if json.loads(line)["id"] in wanted]
    assert len(picked) == len(wanted)
    (tmp_path / "cases.jsonl").write_text("\n".join(picked) + "\n", "utf-8")
    suite = {"name": "tiny-request", "description": "test", "scenario_files": ["cases.jsonl"]}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(suite), "utf-8")
    settings = Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'unused.db'}")
    result = run_suite(str(tmp_path / "tiny.yaml"), settings=settings)
    failed = {
        s["id"]: [sc for sc in s["repetitions"][0]["scores"] if not sc["passed"]]
        for s in result["scenarios"]
        if not s["passed"]
    }
    assert result["gate"]["passed"], failed
    by_id = {s["id"]: s for s in result["scenarios"]}
    twin = by_id["req-inject-lt-c2-en"]["repetitions"][0]
    assert {"name", "passed", "critical", "detail"} <= set(twin["scores"][-1])
    assert twin["scores"][-1]["detail"] == "same routing as req-inject-lt-c2-zh"
    assert twin["rules"] == ["CN-MIS-06", "TW-REQ-01"] and twin["status"] == "awaiting_approval"


def test_a_twin_of_a_missing_base_is_refused(tmp_path: Path) -> None:
    lines = (EVALS_DIR / "scenarios" / "request.jsonl").read_text("utf-8").splitlines()
    twin = next(json.loads(line) for line in lines if json.loads(line).get("counterfactual"))
    (tmp_path / "cases.jsonl").write_text(json.dumps(copy.deepcopy(twin)) + "\n", "utf-8")
    suite = {"name": "orphan", "description": "test", "scenario_files": ["cases.jsonl"]}
    (tmp_path / "orphan.yaml").write_text(yaml.safe_dump(suite), "utf-8")
    with pytest.raises(ValueError, match="without their base"):
        load_suite(str(tmp_path / "orphan.yaml"))
