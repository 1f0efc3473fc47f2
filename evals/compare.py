"""Compare two eval results paired by scenario: regressions, improvements, McNemar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.stats import mcnemar_p


def load_result(path: Path) -> dict[str, Any]:
    """A result.json, or the result.json inside a result directory."""
    file = path / "result.json" if path.is_dir() else path
    data = json.loads(file.read_text("utf-8"))
    if data.get("schema") != "tierwise.eval/1":
        raise ValueError(f"{file} is not a Tierwise eval result")
    return dict(data)


def compare(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Scenarios in both, paired by id; a regression passed in base and fails in new."""
    before = {s["id"]: s for s in base["scenarios"]}
    after = {s["id"]: s for s in new["scenarios"]}
    shared = sorted(before.keys() & after.keys())
    regressions = [i for i in shared if before[i]["passed"] and not after[i]["passed"]]
    improvements = [i for i in shared if not before[i]["passed"] and after[i]["passed"]]
    return {
        "base": base["provenance"],
        "new": new["provenance"],
        "paired": len(shared),
        "only_in_base": sorted(before.keys() - after.keys()),
        "only_in_new": sorted(after.keys() - before.keys()),
        "regressions": regressions,
        "improvements": improvements,
        "mcnemar_p": mcnemar_p(len(regressions), len(improvements)),
        "pass_rate": {"base": base["summary"]["pass_rate"], "new": new["summary"]["pass_rate"]},
        "critical_failures": new["summary"]["critical_failures"],
    }
