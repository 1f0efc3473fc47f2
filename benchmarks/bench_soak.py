"""Soak: 50 clients mixing runs, lists, event streams and decisions, plus 300 idle sockets.

    python benchmarks/bench_soak.py [--clients 50] [--idle 300] [--seconds 60] [--database URL]

One real `tierwise serve` process on a fresh PostgreSQL database (dropped afterwards), with
its default settings. Meanwhile 300 sockets connect and send nothing (reconnecting whenever the
server closes them) and a probe, in a process of its own, calls /healthz every 20 ms. Prints
p50/p95/p99 per endpoint,
the /healthz worst case, the 5xx count and, once the queue has drained, runs failed or lost.
Targets (issue 12): 0 x 5xx, 0 runs lost or failed, /healthz p99 under 100 ms throughout.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import socket
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench_load import percentile, start_server  # noqa: E402
from databases import scratch_database  # noqa: E402
from sqlmodel import select  # noqa: E402

from core.database import get_engine, session_scope  # noqa: E402
from core.services import demo, principals  # noqa: E402
from core.tables import Run  # noqa: E402

PORT = 18_100


class Recorder:
    def __init__(self) -> None:
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[str] = Counter()
        self.accepted: list[str] = []
        self.lock = threading.Lock()

    def timed(self, http: httpx.Client, name: str, method: str, url: str, **kw: Any) -> Any:
        started = time.perf_counter()
        response = http.request(method, url, **kw)
        with self.lock:
            self.timings[name].append((time.perf_counter() - started) * 1000)
            self.statuses[f"{name} {response.status_code}"] += 1
        return response


def idle_sockets(count: int, stop: threading.Event, opened: list[int]) -> None:
    """Keep `count` connections open that never send a byte; reopen what the server closes."""
    socks: list[socket.socket] = []
    while not stop.is_set():
        socks = [s for s in socks if _open(s)]
        while len(socks) < count and not stop.is_set():
            s = socket.create_connection(("127.0.0.1", PORT))
            s.setblocking(False)
            socks.append(s)
            opened[0] += 1
        stop.wait(0.2)
    for s in socks:
        s.close()


def _open(s: socket.socket) -> bool:
    try:
        if s.recv(1) == b"":
            s.close()
            return False
    except BlockingIOError:
        return True
    except OSError:
        s.close()
        return False
    return True


def probe(stop: Any, out: Any) -> None:
    """/healthz every 20 ms, from a process of its own: the load's threads do not delay it."""
    timings: list[float] = []
    codes: Counter[int] = Counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=60) as http:
        while not stop.is_set():
            started = time.perf_counter()
            codes[http.get("/healthz").status_code] += 1
            timings.append((time.perf_counter() - started) * 1000)
            stop.wait(0.02)
    out.put((timings, dict(codes)))


ENDS = {"awaiting_approval", "delivered", "rejected", "blocked", "failed"}


def follow(http: httpx.Client, rec: Recorder, url: str, headers: dict[str, str]) -> None:
    """Hold an event stream open until the run waits for sign-off or ends."""
    name = "GET /v1/runs/{id}/events (until sign-off)"
    started = time.perf_counter()
    with http.stream("GET", url, headers=headers) as response:
        for line in response.iter_lines():
            if line.startswith("event:") and line.split(":", 1)[1].strip() in ENDS:
                break
    with rec.lock:
        rec.timings[name].append((time.perf_counter() - started) * 1000)
        rec.statuses[f"{name} {response.status_code}"] += 1


def client(i: int, stop: threading.Event, rec: Recorder, tokens: dict[str, str]) -> None:
    rng = random.Random(i)
    svc = {"Authorization": f"Bearer {tokens[f'svc-soak-{i % 10}']}"}
    advisor_name = ("adv-li", "adv-wang")[i % 2]
    advisor = {"Authorization": f"Bearer {tokens[advisor_name]}"}
    clients = [c.client_id for c in demo.load_clients()]
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=120) as http:
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.15:
                body = {"client_id": rng.choice(clients)}
                r = rec.timed(http, "POST /v1/runs", "POST", "/v1/runs", json=body, headers=svc)
                if r.status_code == 202:
                    run_id = r.json()["id"]
                    with rec.lock:
                        rec.accepted.append(run_id)
                    follow(http, rec, f"/v1/runs/{run_id}/events", svc)
            elif roll < 0.45:
                rec.timed(http, "GET /v1/runs", "GET", "/v1/runs?limit=50", headers=svc)
            elif roll < 0.60 and rec.accepted:
                run_id = rng.choice(rec.accepted)
                rec.timed(http, "GET /v1/runs/{id}", "GET", f"/v1/runs/{run_id}", headers=svc)
            elif roll < 0.75 and rec.accepted:
                url = f"/v1/runs/{rng.choice(rec.accepted)}/events?follow=false"
                rec.timed(http, "GET /v1/runs/{id}/events?follow=false", "GET", url, headers=svc)
            else:
                queue = rec.timed(
                    http, "GET /v1/approvals", "GET", "/v1/approvals", headers=advisor
                )
                items = queue.json().get("items", []) if queue.status_code == 200 else []
                if items:
                    pick = rng.choice(items)
                    body = {"action": "approve", "plan_hash": pick["plan_hash"]}
                    url = f"/v1/approvals/{pick['id']}/decision"
                    name = "POST /v1/approvals/{id}/decision"
                    rec.timed(http, name, "POST", url, json=body, headers=advisor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--idle", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with scratch_database(args.database, "tw_soak") as url:
        soak(args, url)


def soak(args: argparse.Namespace, url: str) -> None:
    server = None
    try:
        with session_scope(get_engine(url)) as session:
            tokens = {p["name"]: p["token"] for p in demo.seed(session)["principals"]}
            for k in range(10):
                tokens[f"svc-soak-{k}"] = principals.create(session, f"svc-soak-{k}", "service")[1]
        server = start_server(url, PORT, Path("/tmp") / f"{url.rsplit('/', 1)[1]}.log")
        rec, stop, opened = Recorder(), threading.Event(), [0]
        probe_stop, probe_out = multiprocessing.Event(), multiprocessing.Queue()
        prober = multiprocessing.Process(target=probe, args=(probe_stop, probe_out))
        prober.start()
        threads = [
            threading.Thread(target=idle_sockets, args=(args.idle, stop, opened)),
            *[
                threading.Thread(target=client, args=(i, stop, rec, tokens))
                for i in range(args.clients)
            ],
        ]
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        probe_stop.set()
        health, health_codes = probe_out.get()
        prober.join()
        rec.timings["GET /healthz"] = health
        for code, n in health_codes.items():
            rec.statuses[f"GET /healthz {code}"] += n
        for t in threads:
            t.join()
        drained = time.perf_counter()
        with session_scope(get_engine(url)) as session:
            while any(r.status in ("queued", "running") for r in session.exec(select(Run))):
                time.sleep(0.5)
        drain_s = time.perf_counter() - drained
        with session_scope(get_engine(url)) as session:
            status = {r.id: r.status for r in session.exec(select(Run))}
        print(
            f"{args.clients} clients + {args.idle} idle sockets ({opened[0]} opened in all) for "
            f"{args.seconds:.0f} s, one API process, PostgreSQL, offline model"
        )
        print(f"{'endpoint':<44}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        for endpoint, values in sorted(rec.timings.items()):
            print(
                f"{endpoint:<44}{len(values):>7}{statistics.median(values):>9.1f}"
                f"{percentile(values, 95):>9.1f}{percentile(values, 99):>9.1f}{max(values):>9.1f}"
            )
        fivexx = {k: n for k, n in rec.statuses.items() if k.rsplit(" ", 1)[1].startswith("5")}
        other = {k: n for k, n in rec.statuses.items() if k.rsplit(" ", 1)[1][0] not in ("2", "5")}
        lost = [r for r in rec.accepted if r not in status]
        failed = [r for r in rec.accepted if status.get(r) == "failed"]
        health = rec.timings["GET /healthz"]
        print(
            f"/healthz worst {max(health):.1f} ms, p99 {percentile(health, 99):.1f} ms; "
            f"5xx {sum(fivexx.values())}; runs accepted {len(rec.accepted)}, failed "
            f"{len(failed)}, lost {len(lost)}; queue drained {drain_s:.1f} s after the load"
        )
        for k, n in sorted({**fivexx, **other}.items()):
            print(f"  {n} x {k}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
