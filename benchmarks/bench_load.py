"""Load: N concurrent clients drive create run → approval → delivery against running servers.

    python benchmarks/bench_load.py [--clients 20] [--flows 5] [--servers 2] [--database URL]

Servers are real `tierwise serve` processes on one PostgreSQL database (a fresh one is created
and dropped); the figures are throughput, p50/p95/p99 latency per endpoint and errors, and the
check afterwards that nothing was lost or delivered twice.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from databases import scratch_database  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from core.database import get_engine, session_scope  # noqa: E402
from core.services import demo  # noqa: E402
from core.tables import Delivery, Run  # noqa: E402

Timings = dict[str, list[float]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * q / 100))] if ordered else 0.0


def start_server(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TIERWISE_DATABASE_URL": url, "TIERWISE_RATE_LIMIT": "100000/minute"}
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
        cwd=ROOT,
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


def flow(
    base: str,
    tokens: dict[str, str],
    client_id: str,
    timings: Timings,
    errors: list[str],
    lock: threading.Lock,
) -> str | None:
    """One client's advisory run through to delivery; returns the run id."""
    service = {"Authorization": f"Bearer {tokens['svc-core']}"}
    advisor = {"Authorization": f"Bearer {tokens['adv-li']}"}

    def timed(name: str, method: str, url: str, **kw: object) -> httpx.Response:
        started = time.perf_counter()
        response = http.request(method, url, **kw)  # type: ignore[arg-type]
        with lock:
            timings[name].append((time.perf_counter() - started) * 1000)
            if response.status_code >= 400:
                errors.append(f"{name} {response.status_code}")
        return response

    with httpx.Client(base_url=base, timeout=60) as http:
        run = timed(
            "POST /v1/runs", "POST", "/v1/runs", json={"client_id": client_id}, headers=service
        ).json()
        for _ in range(2000):
            view = timed(
                "GET /v1/runs/{id}", "GET", f"/v1/runs/{run['id']}", headers=service
            ).json()
            if view["status"] != "queued" and view["status"] != "running":
                break
            time.sleep(0.05)
        approval = view.get("approval")
        if view["status"] != "awaiting_approval" or not approval:
            with lock:
                errors.append(f"run ended {view['status']}")
            return run["id"]
        timed("GET /v1/approvals", "GET", "/v1/approvals", headers=advisor)
        timed(
            "POST /v1/approvals/{id}/decision",
            "POST",
            f"/v1/approvals/{approval['id']}/decision",
            headers=advisor,
            json={"action": "approve", "plan_hash": approval["plan_hash"]},
        )
    return str(run["id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--flows", type=int, default=5, help="flows per client")
    parser.add_argument("--servers", type=int, default=2, help="API processes")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with scratch_database(args.database, "tw_bench") as url:
        drive(args, url)


def drive(args: argparse.Namespace, url: str) -> None:
    servers: list[subprocess.Popen[bytes]] = []
    try:
        with session_scope(get_engine(url)) as session:
            tokens = {p["name"]: p["token"] for p in demo.seed(session)["principals"]}
        ports = [18_000 + i for i in range(args.servers)]
        log = Path("/tmp") / f"{url.rsplit('/', 1)[1]}.log"
        servers = [start_server(url, port, log) for port in ports]
        timings: Timings = defaultdict(list)
        errors: list[str] = []
        run_ids: list[str | None] = []
        lock = threading.Lock()

        def client(i: int) -> None:
            base = f"http://127.0.0.1:{ports[i % len(ports)]}"
            for _ in range(args.flows):
                run_ids.append(flow(base, tokens, "C-1001", timings, errors, lock))

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        with session_scope(get_engine(url)) as session:
            deliveries = dict(
                session.exec(select(Delivery.run_id, func.count()).group_by(Delivery.run_id)).all()
            )
            statuses = [r.status for r in session.exec(select(Run))]
        flows = args.clients * args.flows
        print(
            f"{flows} flows ({args.clients} clients x {args.flows}) on {args.servers} API "
            f"processes, PostgreSQL, offline model: {elapsed:.1f} s, "
            f"{flows / elapsed:.1f} delivered plans/s"
        )
        print(f"{'endpoint':<36}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
        for endpoint, values in timings.items():
            print(
                f"{endpoint:<36}{len(values):>6}{statistics.median(values):>10.1f}"
                f"{percentile(values, 95):>10.1f}{percentile(values, 99):>10.1f}"
            )
        lost = [r for r in run_ids if r is None or r not in deliveries]
        twice = [r for r, n in deliveries.items() if n != 1]
        print(
            f"errors {len(errors)}; runs {len(statuses)}, delivered {statuses.count('delivered')}; "
            f"lost {len(lost)}; delivered twice {len(twice)}"
        )
        if errors or lost or twice:
            for error, count in sorted(Counter(errors).items()):
                print(f"  {count} x {error}")
            raise SystemExit(1)
    finally:
        for s in servers:
            s.terminate()
            s.wait(timeout=20)


if __name__ == "__main__":
    main()
