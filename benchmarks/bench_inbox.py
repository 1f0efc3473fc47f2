"""The inbox queue at batch scale: GET /inbox with 10,000 pending reviews, on PostgreSQL (a fresh
database, created and dropped) and SQLite.

    python benchmarks/bench_inbox.py [--reviews 10000] [--advisors 4] [--decided 2000]
                                     [--requests 50] [--database URL] [--no-sqlite]

One real offline run gives the shapes (its run row and its review); the reviews are copies of
it inserted in bulk, opened over the last 72 hours, with the verdicts, levels and volatilities
varied, spread over `--advisors` advisors, beside `--decided` decided ones. A live uvicorn
server answers a signed-in browser (httpx, keep-alive), as an advisor (their share of the
queue) and as a supervisor (all of it). Each case is timed over `--requests` requests after a
warm-up: the first page and a deep page (90% of the way, reached by walking the queue with its
next links, which also checks that the walk shows every review once) in each order. The
target is p95 <= 100 ms with 10,000 pending reviews; the figures are printed, nothing asserted.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "web")]

from databases import scratch_database  # noqa: E402
from factories import AS_OF, add_advisors, make_client  # noqa: E402
from inboxhelp import sign_in  # noqa: E402
from live import serve  # noqa: E402
from sqlalchemy import func, insert  # noqa: E402
from sqlmodel import select  # noqa: E402

from api.app import create_app  # noqa: E402
from core.database import get_engine, session_scope  # noqa: E402
from core.services import approvals, clients, principals, review_queue  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.tables import Approval, Run, utcnow  # noqa: E402
from graphs.runner import open_runner  # noqa: E402

TARGET_P95_MS = 100.0
CHUNK = 1_000
ROW = re.compile(r'data-approval="([^"]+)"')
NEXT = re.compile(r'id="next-page" rel="next" href="([^"]+)"')
SORTS = ("waited", "risk", "verdict")
VERDICTS = ["pass"] * 6 + ["escalate"] * 3 + ["revise"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * q / 100))] if ordered else 0.0


def template(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """A real run waiting for adv-li's sign-off: its run row and its review, as dicts."""
    with session_scope(get_engine(settings.database_url)) as session:
        add_advisors(session)
    with open_runner(settings) as runner:
        client = make_client()
        with session_scope(runner.engine) as session:
            clients.upsert(session, client)
        run = runner.execute(runner.create(client, as_of=AS_OF).id)
        with session_scope(runner.engine) as session:
            review = approvals.latest_for_run(session, run.id)
            assert review is not None and review.status == "pending", run.status
            return session.get_one(Run, run.id).model_dump(), review.model_dump()


def seed(settings: Settings, args: argparse.Namespace) -> dict[str, str]:
    """Copies of a real review, in bulk; the advisors' and a supervisor's inbox tokens."""
    run, review = template(settings)
    rng, now = random.Random(16), utcnow()
    advisors = [f"adv-{i}" for i in range(args.advisors)]
    started = time.perf_counter()
    total = args.reviews + args.decided
    for at in range(0, total, CHUNK):
        runs, reviews = [], []
        for n in range(at, min(at + CHUNK, total)):
            opened = now - timedelta(seconds=rng.uniform(0, 72 * 3600))
            advisor, client_id = advisors[n % len(advisors)], f"C-{n:06d}"
            snapshot = {**run["client_snapshot"], "client_id": client_id, "advisor_id": advisor}
            runs.append(
                {**run, "id": f"run-{n:06d}", "client_id": client_id, "advisor_id": advisor}
                | {"client_snapshot": snapshot, "created_at": opened, "idempotency_key": None}
            )
            reviews.append(
                {**review, "id": f"run-{n:06d}-r0", "run_id": f"run-{n:06d}"}
                | {"client_id": client_id, "advisor_id": advisor, "created_at": opened}
                | {"status": "pending" if n < args.reviews else "approved"}
                | {"verdict": rng.choice(VERDICTS), "risk_level": f"C{rng.randint(1, 5)}"}
                | {"volatility": round(rng.uniform(0.01, 0.2), 6)}
            )
        with session_scope(get_engine(settings.database_url)) as session:
            session.execute(insert(Run), runs)
            session.execute(insert(Approval), reviews)
    with session_scope(get_engine(settings.database_url)) as session:
        pending = session.exec(
            select(func.count()).select_from(Approval).where(Approval.status == "pending")
        ).one()
        tokens = {name: principals.create(session, name, "advisor")[1] for name in advisors}
        tokens["sup-bench"] = principals.create(session, "sup-bench", "supervisor")[1]
    print(
        f"  seeded {total:,} reviews ({pending:,} pending, over {args.advisors} advisors) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return tokens


def walk(http: httpx.Client, sort: str) -> tuple[int, int, str]:
    """Every page of the queue in one order, 100 at a time: (reviews seen, distinct, the URL of
    the page 90% of the way in)."""
    seen: list[str] = []
    url: str | None = f"/inbox?sort={sort}&size=100"
    pages: list[str] = []
    while url:
        page = http.get(url)
        page.raise_for_status()
        pages.append(url)
        seen += ROW.findall(page.text)
        found = NEXT.search(page.text)
        url = unescape(found.group(1)) if found else None
    deep = pages[int(len(pages) * 0.9)].replace("size=100", "size=50")
    return len(seen), len(set(seen)), deep


def timed(http: httpx.Client, url: str, n: int) -> list[float]:
    for _ in range(5):  # warm-up: connection, statement and template caches
        http.get(url).raise_for_status()
    out = []
    for _ in range(n):
        started = time.perf_counter()
        response = http.get(url)
        out.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return out


def measure(name: str, url: str, args: argparse.Namespace) -> None:
    print(f"{name}:")
    settings = Settings(environment="test", database_url=url, sign_in_limit="1000/minute")
    tokens = seed(settings, args)
    viewers = {"advisor adv-0": tokens["adv-0"], "supervisor": tokens["sup-bench"]}
    walks: list[str] = []
    with serve(create_app(settings)) as base:
        print(f"  {'viewer':<15}{'case':<26}{'pending':>9}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}")
        for viewer, token in viewers.items():
            with httpx.Client(base_url=base, timeout=60) as http:
                sign_in(http, token)
                for sort in SORTS:
                    count, distinct, deep = walk(http, sort)
                    walks.append(f"{viewer} by {sort}: {count:,} rows, {distinct:,} reviews")
                    cases = {"first page": f"/inbox?sort={sort}", "deep page (90%)": deep}
                    for case, page in cases.items():
                        ms = timed(http, page, args.requests)
                        p95 = percentile(ms, 95)
                        flag = "" if p95 <= TARGET_P95_MS else "  over the target"
                        print(
                            f"  {viewer:<15}{sort + ', ' + case:<26}{distinct:>9,}{len(ms):>5}"
                            f"{percentile(ms, 50):>9.1f}{p95:>9.1f}{flag}"
                        )
    print("  whole queue walked by its next links (100 a page):\n    " + "\n    ".join(walks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reviews", type=int, default=10_000, help="pending reviews")
    parser.add_argument("--advisors", type=int, default=4)
    parser.add_argument("--decided", type=int, default=2_000, help="decided reviews beside them")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per case")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    print(f"GET /inbox, page size {review_queue.PAGE_SIZE}, target p95 <= {TARGET_P95_MS:.0f} ms")
    with scratch_database(args.database, "tw_bench_inbox") as url:
        measure("PostgreSQL", url, args)
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            measure("SQLite", f"sqlite:///{Path(tmp) / 'inbox.db'}", args)


if __name__ == "__main__":
    main()
