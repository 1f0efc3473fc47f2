"""Load: N concurrent advisors drive create run → approval → delivery against running servers.

    python benchmarks/bench_load.py [--clients 50] [--flows 5] [--servers 2] [--phased]
                                    [--database URL]

Servers are real `tierwise serve` processes on one PostgreSQL database (a fresh one is created
and dropped). Each of `--clients` advisors has a run triggered for its client, reads the plan
once it waits for sign-off, approves it (202 once the decision is committed; the run resumes in
the background) and waits until it is delivered, `--flows` times. With `--phased`, every run is
triggered and drafted first, then all the advisors sign off at once: the decisions meet only the
resumes, not the drafting of new runs. The figures are throughput, p50/p95/p99 latency per
endpoint and errors, the decisions' latency against its target (p95 <= 50 ms), the time from a
decision's 202 to its run's status `delivered`, and the check afterwards that nothing was lost
or delivered twice. Runs' statuses are read from the database by one watcher, not polled over
HTTP by every advisor: that would load the servers being measured.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from databases import scratch_database  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from core.database import get_engine, session_scope  # noqa: E402
from core.services import demo  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.tables import AuditEvent, Delivery, Run  # noqa: E402

Timings = dict[str, list[float]]
DECISION = "POST /v1/approvals/{id}/decision"
DECISION_P95_TARGET_MS = 50.0
POLL_SECONDS = 0.05  # how often the watcher reads the runs' statuses
WAIT_SECONDS = 300.0  # a hang guard for one wait


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * q / 100))] if ordered else 0.0


def start_server(url: str, port: int, log: Path, root: Path = ROOT) -> subprocess.Popen[bytes]:
    """`tierwise serve` from the code under `root` (this checkout, or another to compare)."""
    env = {
        **os.environ,
        "TIERWISE_DATABASE_URL": url,
        "TIERWISE_RATE_LIMIT": "100000/minute",
        "PYTHONPATH": str(root),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server on {port} did not start; see {log}")


class Watcher:
    """Reads every run's status from the database in one query every POLL_SECONDS, and wakes
    the advisors waiting on them."""

    def __init__(self, url: str) -> None:
        self.url, self.statuses = url, dict[str, str]()
        self.changed, self.stopped = threading.Condition(), threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        engine = get_engine(self.url)
        while not self.stopped.is_set():
            with session_scope(engine) as session:
                now = dict(session.exec(select(Run.id, Run.status)).all())
            with self.changed:
                self.statuses = now
                self.changed.notify_all()
            self.stopped.wait(POLL_SECONDS)

    def wait(self, run_id: str, leaving: set[str]) -> str | None:
        """The run's status once it is none of `leaving` (as it stands after WAIT_SECONDS)."""
        with self.changed:
            self.changed.wait_for(
                lambda: self.statuses.get(run_id, "queued") not in leaving, WAIT_SECONDS
            )
            return self.statuses.get(run_id)


class Bench:
    """What the advisors share: tokens, timings, errors, and when each decision was answered."""

    def __init__(self, tokens: dict[str, str], watcher: Watcher) -> None:
        self.service = {"Authorization": f"Bearer {tokens['svc-core']}"}
        self.advisor = {"Authorization": f"Bearer {tokens['adv-li']}"}
        self.watcher = watcher
        self.timings: Timings = defaultdict(list)
        self.errors: list[str] = []
        self.answered: dict[str, float] = {}  # run id -> wall-clock time of its decision's 202
        self.lock = threading.Lock()

    def timed(self, http: httpx.Client, name: str, method: str, url: str, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            response = http.request(method, url, **kw)
        except httpx.TransportError as exc:  # counted, and that advisor's flow is abandoned
            self.error(f"{name} {type(exc).__name__}: {exc}")
            raise
        with self.lock:
            self.timings[name].append((time.perf_counter() - started) * 1000)
            if response.status_code >= 400:
                self.errors.append(f"{name} {response.status_code}")
        return response

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)

    def trigger(self, http: httpx.Client, client_id: str) -> str:
        """The firm's system asks for a plan; returns the run id."""
        body = {"client_id": client_id}
        run = self.timed(http, "POST /v1/runs", "POST", "/v1/runs", json=body, headers=self.service)
        return str(run.json()["id"])

    def sign_off(self, http: httpx.Client, run_id: str) -> None:
        """Once the plan waits for sign-off: read it, approve it, wait until it is delivered."""
        self.watcher.wait(run_id, {"queued", "running"})
        url = f"/v1/runs/{run_id}"
        view = self.timed(http, "GET /v1/runs/{id}", "GET", url, headers=self.advisor).json()
        approval = view.get("approval")
        if view["status"] != "awaiting_approval" or not approval:
            self.error(f"run ended {view['status']}")
            return
        decided = self.timed(
            http,
            DECISION,
            "POST",
            f"/v1/approvals/{approval['id']}/decision",
            headers=self.advisor,
            json={"action": "approve", "plan_hash": approval["plan_hash"]},
        )
        at, wall = time.perf_counter(), time.time()
        if decided.status_code != 202:
            self.error(f"decision answered {decided.status_code}, not 202")
            return
        with self.lock:
            self.answered[run_id] = wall
        ended = self.watcher.wait(run_id, {"awaiting_approval", "running"})
        if ended != "delivered":
            self.error(f"approved run ended {ended}")
            return
        with self.lock:
            self.timings["delivery seen"].append((time.perf_counter() - at) * 1000)


def delivered_after(url: str, answered: dict[str, float]) -> list[float]:
    """Per approved run, ms from its decision's 202 (the client's clock) to the moment its
    status became `delivered` (the audit event's time: the same machine's clock)."""
    with session_scope(get_engine(url)) as session:
        events = session.exec(
            select(AuditEvent.run_id, AuditEvent.created_at, AuditEvent.payload).where(
                AuditEvent.kind == "status"
            )
        ).all()
    out = []
    for run_id, created_at, payload in events:
        if payload.get("status") == "delivered" and run_id in answered:
            at = datetime.fromisoformat(created_at).timestamp()
            out.append((at - answered[run_id]) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50, help="concurrent advisors")
    parser.add_argument("--flows", type=int, default=5, help="flows per advisor")
    parser.add_argument("--servers", type=int, default=2, help="API processes")
    parser.add_argument(
        "--phased", action="store_true", help="draft every run first, then sign off all at once"
    )
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with scratch_database(args.database, "tw_bench") as url:
        drive(args, url)


def in_threads(n: int, work: Callable[[int], None]) -> float:
    """Run work(0..n-1) on n threads at once; the seconds they took."""
    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def drive(args: argparse.Namespace, url: str) -> None:
    servers: list[subprocess.Popen[bytes]] = []
    watcher = Watcher(url)
    try:
        with session_scope(get_engine(url)) as session:
            tokens = {p["name"]: p["token"] for p in demo.seed(session)["principals"]}
        ports = [18_000 + i for i in range(args.servers)]
        log = Path("/tmp") / f"{url.rsplit('/', 1)[1]}.log"
        servers = [start_server(url, port, log) for port in ports]
        watcher.thread.start()
        bench = Bench(tokens, watcher)
        runs: list[list[str]] = [[] for _ in range(args.clients)]

        def base(i: int) -> str:
            return f"http://127.0.0.1:{ports[i % len(ports)]}"

        def client(i: int) -> httpx.Client:
            # Idle connections are dropped before the server's keep-alive closes them: a request
            # sent on one the server is closing meets a reset, which no server can prevent.
            limits = httpx.Limits(keepalive_expiry=Settings().keep_alive_seconds / 2)
            return httpx.Client(base_url=base(i), timeout=60, limits=limits)

        def whole_flows(i: int) -> None:
            with client(i) as http:
                for _ in range(args.flows):
                    with contextlib.suppress(httpx.TransportError):  # counted in bench.errors
                        runs[i].append(bench.trigger(http, "C-1001"))
                        bench.sign_off(http, runs[i][-1])

        def triggers(i: int) -> None:
            with client(i) as http:
                runs[i].extend(bench.trigger(http, "C-1001") for _ in range(args.flows))

        def sign_offs(i: int) -> None:
            with client(i) as http:
                for run_id in runs[i]:
                    bench.sign_off(http, run_id)

        if args.phased:
            started = time.perf_counter()
            in_threads(args.clients, triggers)
            for run_id in (r for mine in runs for r in mine):
                watcher.wait(run_id, {"queued", "running"})
            drafted = time.perf_counter() - started
            signed = in_threads(args.clients, sign_offs)
            print(f"drafted every run in {drafted:.1f} s, then signed them off in {signed:.1f} s")
            elapsed = drafted + signed
        else:
            elapsed = in_threads(args.clients, whole_flows)
        watcher.stopped.set()
        report(args, url, bench, [r for mine in runs for r in mine], elapsed)
    finally:
        watcher.stopped.set()
        for s in servers:
            s.terminate()
            s.wait(timeout=20)


def report(
    args: argparse.Namespace, url: str, bench: Bench, run_ids: list[str], elapsed: float
) -> None:
    with session_scope(get_engine(url)) as session:
        deliveries = dict(
            session.exec(select(Delivery.run_id, func.count()).group_by(Delivery.run_id)).all()
        )
        statuses = [r.status for r in session.exec(select(Run))]
    flows = args.clients * args.flows
    mode = "drafted first, then signed off at once" if args.phased else "each flow end to end"
    print(
        f"{flows} flows ({args.clients} advisors x {args.flows}, {mode}) on {args.servers} API "
        f"processes, PostgreSQL, offline model: {elapsed:.1f} s, "
        f"{flows / elapsed:.1f} delivered plans/s"
    )
    to_delivery = delivered_after(url, bench.answered)
    rows = [
        *((k, v) for k, v in bench.timings.items() if k != "delivery seen"),
        ("202 → delivered (server clock)", to_delivery),
        (
            f"202 → delivered (seen, {POLL_SECONDS * 1000:.0f} ms reads)",
            bench.timings["delivery seen"],
        ),
    ]
    print(f"{'endpoint':<44}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for endpoint, values in rows:
        if values:
            print(
                f"{endpoint:<44}{len(values):>6}{percentile(values, 50):>10.1f}"
                f"{percentile(values, 95):>10.1f}{percentile(values, 99):>10.1f}"
            )
    decisions = bench.timings[DECISION]
    p95 = percentile(decisions, 95)
    verdict = "met" if decisions and p95 <= DECISION_P95_TARGET_MS else "MISSED"
    print(
        f"decisions at {args.clients} concurrent advisors: p50 {percentile(decisions, 50):.1f} ms,"
        f" p95 {p95:.1f} ms, p99 {percentile(decisions, 99):.1f} ms (target p95 <= "
        f"{DECISION_P95_TARGET_MS:.0f} ms: {verdict}); from the 202 to delivered: p50 "
        f"{percentile(to_delivery, 50):.1f} ms, p95 {percentile(to_delivery, 95):.1f} ms"
    )
    lost = [r for r in run_ids if r not in deliveries]
    twice = [r for r, n in deliveries.items() if n != 1]
    print(
        f"errors {len(bench.errors)}; runs {len(statuses)}, delivered "
        f"{statuses.count('delivered')}; lost {len(lost)}; delivered twice {len(twice)}"
    )
    if bench.errors or lost or twice:
        for error, count in sorted(Counter(bench.errors).items()):
            print(f"  {count} x {error}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
