"""`tierwise prices import`, `tierwise demo --past` and `tierwise outcomes`, as subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from factories import long_tail_client
from outcomehelp import PRICES, deliver_on, import_prices
from sqlmodel import func, select

from core.database import get_engine, session_scope
from core.settings import Settings
from core.tables import Batch, BatchItem, Price, Run
from graphs.runner import open_runner
from tools.outcomes import service

TIERWISE = Path(sys.executable).with_name("tierwise")
PHONE, ID_NUMBER = "13912345678", "11010519491231002X"


def _tierwise(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TIERWISE_DATABASE_URL": settings.database_url,
        "TIERWISE_ENVIRONMENT": "test",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [str(TIERWISE), *args], env=env, capture_output=True, text=True, timeout=900
    )


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_prices_then_a_past_demo_then_outcomes_per_advisor(settings: Settings) -> None:
    """The issue's walk-through on a fresh database: the real price file, the demo book planned
    on three past dates, and a table per advisor against both baselines."""
    stored = _json(_tierwise(settings, "prices", "import", str(PRICES)))
    assert stored["rows"] == 12372 and stored["changed"] == 12372
    assert stored["codes"] == ["510300", "510500", "511260", "513100", "513500", "518880"]
    assert (stored["from"], stored["to"]) == ("2017-08-04", "2026-02-26")
    assert stored["skipped"] == ["159941.SZ"]
    assert stored["measured"] == 0  # no plan delivered yet
    again = _json(_tierwise(settings, "prices", "import", str(PRICES)))
    assert again["changed"] == 0

    made = _json(_tierwise(settings, "demo", "--past"))
    assert made["runs"] == 36 and made["dates"] == ["2023-06-30", "2024-06-28", "2025-06-30"]
    delivered = made["statuses"].get("delivered", 0)

    shown = _tierwise(settings, "outcomes")
    summary = _json(shown)
    groups = {g["key"]: g for g in summary["groups"]}
    assert set(groups) == {"adv-li", "adv-wang"}
    assert sum(g["plans"] for g in groups.values()) == delivered
    for group in groups.values():
        assert group["measured"] == group["plans"]
        assert group["median_excess_vs_holdings"] is not None
        assert group["median_excess_vs_equal_weight"] is not None
    assert "Outcomes of delivered plans by advisor" in shown.stderr
    assert "median vs holdings" in shown.stderr and "median vs 1/N" in shown.stderr
    assert "过往业绩不预示其未来表现" in shown.stderr

    tiers = _json(_tierwise(settings, "outcomes", "--group-by", "tier", "--from", "2025-01-01"))
    assert {g["key"] for g in tiers["groups"]} <= {"long_tail", "mid_tier", "hnw"}
    assert sum(g["plans"] for g in tiers["groups"]) == delivered // 3  # one date of three


def test_a_bad_price_file_names_each_line_and_stores_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "prices.csv"
    bad.write_text(
        "date,code,close\n"
        "2026-03-02,510300,4.8\n"
        "2026-03-02,510300,4.9\n"
        "2026-02-30,518880,11\n"
        "2026-03-02,999999,1\n"
        "2026-03-03,510500,0\n",
        "utf-8",
    )
    done = _tierwise(settings, "prices", "import", str(bad))
    assert done.returncode == 1
    for line in ("line 3: 510300", "line 4: date '2026-02-30'", "line 5: code '999999'", "line 6"):
        assert line in done.stderr, line
    with session_scope(get_engine(settings.database_url)) as session:
        assert session.exec(select(func.count()).select_from(Price)).one() == 0
    binary = tmp_path / "prices.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe")
    assert "not UTF-8" in _tierwise(settings, "prices", "import", str(binary)).stderr
    missing = _tierwise(settings, "prices", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_breaches_are_listed_and_start_a_batch_of_review_runs(settings: Settings) -> None:
    with open_runner(settings) as runner:
        import_prices(runner)
        # No loss accepted: any fall of the plan's priced part passes the tolerance.
        hurt = deliver_on(
            runner,
            long_tail_client(client_id="C-HURT", max_drawdown_tolerance_pct=0),
            date(2023, 6, 30),
        )
        deliver_on(
            runner,
            long_tail_client(client_id="C-FINE", max_drawdown_tolerance_pct=50),
            date(2023, 6, 30),
        )
    listed = _json(_tierwise(settings, "outcomes", "--breaches"))
    assert [b["client_id"] for b in listed["breaches"]] == ["C-HURT"]
    assert listed["breaches"][0]["run_id"] == hurt
    assert listed["breaches"][0]["max_drawdown"] > listed["breaches"][0]["tolerance"] == 0
    assert "review" not in listed and listed["pending"] == 0
    assert listed["disclosure"].startswith("过往业绩不预示其未来表现。")
    with session_scope(get_engine(settings.database_url)) as session:
        assert session.exec(select(func.count()).select_from(Batch)).one() == 0

    reviewed = _json(_tierwise(settings, "outcomes", "--breaches", "--review"))
    assert reviewed["review"]["status"] == "done" and reviewed["review"]["total"] == 1
    with session_scope(get_engine(settings.database_url)) as session:
        items = session.exec(select(BatchItem)).all()
        assert [i.client_id for i in items] == ["C-HURT"]
        assert session.get(Run, items[0].run_id) is not None
    # Until a new plan is delivered to the client, the breach stays on the list.
    after = _json(_tierwise(settings, "outcomes", "--breaches"))
    assert [b["run_id"] for b in after["breaches"]] == [hurt]


def test_a_bad_close_is_refused_then_overridden_and_says_what_it_changed(
    settings: Settings, tmp_path: Path
) -> None:
    with open_runner(settings) as runner:
        import_prices(runner)
        tight = deliver_on(
            runner,
            long_tail_client(client_id="C-10", max_drawdown_tolerance_pct=10, risk_level="C3"),
            date(2023, 6, 30),
        )
        service.refresh(runner.engine, runner.market)
    bad = tmp_path / "bad.csv"
    bad.write_text("date,code,close\n2025-09-01,510300,0.0045\n", "utf-8")
    refused = _tierwise(settings, "prices", "import", str(bad))
    assert refused.returncode == 1
    assert "line 2: 510300 moves -99.9% from 4.48453 on 2025-08-29" in refused.stderr
    assert "--override REASON" in refused.stderr
    for reason, wrong in [(" ", "blank"), ("\u200b", "blank"), ("x" * 501, "501 characters")]:
        done = _tierwise(settings, "prices", "import", str(bad), "--override", reason)
        assert done.returncode == 2 and wrong in done.stderr, done.stderr
    reason = f"restated; Wang confirmed on {PHONE}, ID {ID_NUMBER}"
    done = _tierwise(settings, "prices", "import", str(bad), "--override", reason)
    assert PHONE not in done.stdout + done.stderr and ID_NUMBER not in done.stdout + done.stderr
    stored = _json(done)
    assert (stored["replaced"], stored["overridden"], stored["measured"]) == (1, 1, 1)
    assert stored["override"]["reason"] == "restated; Wang confirmed on 139****5678, ID " + (
        "110105********002X"
    )
    assert (stored["override"]["needed"], stored["override"]["overridden"]) == (True, 1)
    assert stored["outcomes"]["changed"] == stored["outcomes"]["new_breaches"] == 1
    assert stored["outcomes"]["largest_change"]["run_id"] == tight
    listed = _tierwise(settings, "outcomes", "--breaches")
    assert [b["price_import"] for b in _json(listed)["breaches"]] == [stored["import_id"]]
    assert "made by import" in listed.stderr


def test_outcomes_arguments_are_checked(settings: Settings) -> None:
    for args, text in [
        (("outcomes", "--group-by", "region"), "advisor or tier"),
        (("outcomes", "--review"), "--review goes with --breaches"),
        (("outcomes", "--from", "June"), "YYYY-MM-DD"),
        (("outcomes", "--from", "2025-01-01", "--to", "2024-01-01"), "after"),
        (("demo", "--past", "--as-of", "2024-01-01"), "--past"),
    ]:
        done = _tierwise(settings, *args)
        assert done.returncode == 2 and text in done.stderr, (args, done.stderr)
