"""The long tail really served (issue 28): a generated long-tail book through `tierwise batch`
(the CLI's batch path, in process, on SQLite, offline model), then every special-care offer
accepted after its cooling-off and its linked run carried through the graph.

python benchmarks/bench_long_tail.py [--clients 269] [--seed 28] [--no-advisor 0.2]

Prints, by risk level and in total: delivered without an advisor, waiting for one, blocked,
failed; the share of clients not in the lowest category served without an advisor; plans
holding R4/R5 delivered to an ordinary long-tail investor without the special-care procedure
(must be 0); offers made, accepted and their linked plans delivered or waiting; follow-up
calls opened; and reviews nobody can decide (a client without an advisor, and no duty pool to
claim the review). Asserts nothing about rates: the figures are for the closing note.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from factories import AS_OF, add_advisors, long_tail_client  # noqa: E402
from rich.console import Console  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from cli import batch as batch_cli  # noqa: E402
from core.database import session_scope  # noqa: E402
from core.schemas.client import ClientInput  # noqa: E402
from core.schemas.special_care import HIGH_RISK_RANK, SpecialCareRecord  # noqa: E402
from core.services import batches, special_care  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.tables import (  # noqa: E402
    Approval,
    Callback,
    Delivery,
    Principal,
    Run,
    as_utc,
)
from graphs.runner import Runner, open_runner  # noqa: E402

LEVELS = ("C1", "C2", "C3", "C4", "C5")
GOALS = ("preservation", "income", "balanced", "growth", "aggressive_growth")
TOLERANCE = {"C1": 5, "C2": 10, "C3": 15, "C4": 25, "C5": 35}
ACKNOWLEDGEMENT = "我已阅读较高风险部分的风险揭示，理解可能出现较大亏损，自愿接受。"
WAITING = ("awaiting_approval",)


def book(n: int, seed: int, no_advisor: float) -> list[ClientInput]:
    """N long-tail clients (AUM under 500k), C1 to C5 in equal parts, assessments valid on
    AS_OF, a third of the C1s in the lowest category, a share without an advisor."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        level = LEVELS[i % len(LEVELS)]
        aum = rng.randrange(20_000, 499_000, 1_000)
        held = rng.choice((0.0, 0.2, 0.5))
        holdings = [{"product_code": "510300", "market_value": round(aum * held)}] if held else []
        out.append(
            long_tail_client(
                client_id=f"C-LT{i:04}",
                name="李明" if i % 3 else "Alex Chen",
                locale="en" if i % 4 == 0 else "zh-CN",
                advisor_id=None
                if rng.random() < no_advisor
                else rng.choice(("adv-li", "adv-wang")),
                risk_level=level,
                lowest_category=level == "C1" and i % 3 == 0,
                assessed_on=(AS_OF - timedelta(days=rng.randrange(10, 700))).isoformat(),
                goal=GOALS[LEVELS.index(level)],
                horizon_years=rng.choice((2, 3, 5, 10)),
                aum=aum,
                financial_assets=aum + rng.randrange(0, 300_000, 1_000),
                liquidity_need=rng.randrange(0, aum // 5, 1_000),
                max_drawdown_tolerance_pct=TOLERANCE[level],
                birth_year=rng.randrange(1950, 2000),
                holdings=holdings,
                trades=[],
                notes="",
            )
        )
    return out


def through_batch(runner: Runner, found: list[ClientInput]) -> str:
    """The book stored and run as `tierwise batch clients.jsonl` runs it (no broker)."""
    batch_id = batch_cli.create(
        runner,
        batches.Selection(client_ids=tuple(c.client_id for c in found)),
        as_of=AS_OF,
        request=None,
        stored=found,
        actor="bench",
    )
    batch_cli.carry_on(runner, batch_id, Console(stderr=True), resume=False)
    return batch_id


def _high_risk(plan: dict[str, Any] | None) -> dict[str, float]:
    """The plan's R4/R5 holdings (with any weight), by code, with their shares."""
    return {
        h["product_code"]: float(h["weight"])
        for h in (plan or {}).get("holdings", [])
        if h.get("weight", 0) > 0 and int(str(h["risk_rating"])[1:]) >= HIGH_RISK_RANK
    }


def outcomes(session: Session, run_ids: list[str]) -> list[dict[str, Any]]:
    """Per run: the client's level and lowest category, how it ended, and by whom."""
    out = []
    for run in session.exec(select(Run).where(col(Run.id).in_(run_ids))):
        delivery = session.exec(select(Delivery).where(Delivery.run_id == run.id)).first()
        record = run.client_snapshot
        status = run.status
        if status == "delivered" and delivery is not None and delivery.approved_by:
            status = "delivered_by_advisor"
        out.append(
            {
                "run": run,
                "level": record["risk_assessment"]["level"],
                "lowest": record["risk_assessment"]["lowest_category"],
                "ordinary": record.get("investor_type", "ordinary") == "ordinary",
                "status": status,
                "delivery": delivery,
            }
        )
    return out


SHOWN = {
    "delivered": "delivered",
    "delivered_by_advisor": "by advisor",
    "awaiting_approval": "waiting",
    "blocked": "blocked",
    "failed": "failed",
}


def print_by_level(rows: list[dict[str, Any]], title: str) -> None:
    """Counts by level: delivered without an advisor, signed off by one, waiting, blocked."""
    print(f"\n{title}")
    print(f"  {'level':<12}" + "".join(f"{s:>12}" for s in SHOWN.values()) + f"{'total':>8}")
    by_level: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        key = f"{row['level']}{' lowest' if row['lowest'] else ''}"
        by_level[key][row["status"]] += 1
        by_level["all"][row["status"]] += 1
    for key in sorted(by_level, key=lambda k: (k == "all", k)):
        counts = by_level[key]
        other = sum(n for s, n in counts.items() if s not in SHOWN)
        cells = "".join(f"{counts[s]:>12}" for s in SHOWN)
        extra = f"  (other {other})" if other else ""
        print(f"  {key:<12}{cells}{sum(counts.values()):>8}{extra}")


def served_share(rows: list[dict[str, Any]]) -> None:
    eligible = [r for r in rows if not r["lowest"]]
    served = [r for r in eligible if r["status"] == "delivered"]
    share = len(served) / len(eligible) if eligible else 0.0
    print(
        f"\nnot in the lowest category, served without an advisor: {len(served)} / "
        f"{len(eligible)} ({share:.1%}); issue 28's goal: >= 95%"
    )


def _procedure_lacks(run: Run) -> list[str]:
    """What the special-care procedure lacks for the run's R4/R5 holdings (all of it without a
    record); empty when it holds none or the record covers them."""
    held = _high_risk(run.plan)
    if not held:
        return []
    if run.special_care is None:
        return ["no special-care record"]
    return SpecialCareRecord.model_validate(run.special_care).missing(held)


def unprocedured(rows: list[dict[str, Any]]) -> None:
    """R4/R5 delivered to an ordinary long-tail investor without the special-care procedure
    complete (an advisor's sign-off counts as delivered too: the issue's rule has no exception)."""
    found = [
        (r["run"].id, _high_risk(r["run"].plan))
        for r in rows
        if r["status"].startswith("delivered") and r["ordinary"] and _procedure_lacks(r["run"])
    ]
    by_advisor = sum(
        1 for r in rows if r["status"] == "delivered_by_advisor" and _high_risk(r["run"].plan)
    )
    print(
        f"plans with R4/R5 delivered to an ordinary long-tail investor without the procedure: "
        f"{len(found)} (must be 0){'; e.g. ' + str(found[:3]) if found else ''}"
    )
    if by_advisor:
        print(f"  (of which signed off by an advisor: {by_advisor})")


def accept_offers(runner: Runner, rows: list[dict[str, Any]]) -> list[str]:
    """Every delivered offer accepted once its cooling-off is over; the linked runs executed."""
    linked = []
    for row in rows:
        run, delivery = row["run"], row["delivery"]
        if row["status"] != "delivered" or not (run.plan or {}).get("offer") or delivery is None:
            continue
        hours = runner.settings.compliance.cooling_off_hours
        now = as_utc(delivery.delivered_at) + timedelta(hours=hours)
        with session_scope(runner.engine) as session:
            accepted = special_care.accept(
                session,
                run.id,
                ACKNOWLEDGEMENT,
                by="bench",
                now=now,
                settings=runner.settings,
                worker=runner.worker,
            )
        runner.execute(accepted.run.id)
        linked.append(accepted.run.id)
    return linked


def undecidable(session: Session) -> None:
    """Pending reviews and who can decide them: the client's advisor, or, for a client without
    one, the advisor on duty who claims it from the pool (approvals.claim)."""
    pending = list(session.exec(select(Approval).where(Approval.status == "pending")))
    advisors = set(session.exec(select(Principal.name).where(Principal.role == "advisor")))
    on_duty = session.exec(
        select(Principal.name).where(Principal.role == "advisor", col(Principal.on_duty))
    ).all()
    orphaned = [a for a in pending if a.advisor_id not in advisors]
    nobody = 0 if on_duty else len(orphaned)
    print(
        f"\nreviews pending: {len(pending)}; for clients without an advisor (the duty pool): "
        f"{len(orphaned)}; advisors on duty: {len(on_duty)}"
    )
    print(f"reviews nobody can decide: {nobody}")


def why_waiting(rows: list[dict[str, Any]]) -> None:
    """The rules that sent the waiting runs to a person, by how many runs each held back."""
    held: Counter[str] = Counter()
    for row in rows:
        if row["status"] == "awaiting_approval":
            findings = (row["run"].compliance or {}).get("findings", [])
            held.update({f["rule_id"] for f in findings if f["verdict"] != "pass"})
    if held:
        print("  waiting because of: " + ", ".join(f"{r} {n}" for r, n in held.most_common()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=269)
    parser.add_argument("--seed", type=int, default=28)
    parser.add_argument("--no-advisor", type=float, default=0.2, help="share without an advisor")
    args = parser.parse_args()
    found = book(args.clients, args.seed, args.no_advisor)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(environment="test", database_url=f"sqlite:///{Path(tmp) / 'lt.db'}")
        with open_runner(settings) as runner:
            with session_scope(runner.engine) as session:
                add_advisors(session)
                # One advisor on duty, as a firm would staff the pool (ignored without one).
                on_duty = session.exec(select(Principal).where(Principal.name == "adv-wang")).one()
                on_duty.on_duty = True
                session.add(on_duty)
            batch_id = through_batch(runner, found)
            with session_scope(runner.engine) as session:
                run_ids = [batches.run_id_for(batch_id, c.client_id) for c in found]
                rows = outcomes(session, run_ids)
            mode = runner.settings.special_care.mode
            print(f"long-tail book: {len(found)} clients, seed {args.seed}, special care: {mode}")
            print_by_level(rows, "the batch (delivered = without an advisor)")
            why_waiting(rows)
            served_share(rows)
            unprocedured(rows)
            linked = accept_offers(runner, rows)
            with session_scope(runner.engine) as session:
                made = sum(1 for r in rows if (r["run"].plan or {}).get("offer"))
                print(f"\noffers in delivered letters: {made}; accepted: {len(linked)}")
                if linked:
                    linked_rows = outcomes(session, linked)
                    print_by_level(linked_rows, "linked runs (the accepted plans)")
                    why_waiting(linked_rows)
                    unprocedured(linked_rows)
                calls = session.exec(select(Callback)).all()
                share = runner.settings.special_care.callback_share
                print(f"follow-up calls opened: {len(calls)} (share set: {share:.0%})")
                undecidable(session)


if __name__ == "__main__":
    main()
