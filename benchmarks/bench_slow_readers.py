"""Clients that never read their response: server memory and connections before, meanwhile, after.

    python benchmarks/bench_slow_readers.py [--sockets 40] [--waves 2] [--runs 250]
                                            [--limit 200] [--request-chars N] [--database URL]
                                            [--server-root DIR]

One real `tierwise serve` process, with its default settings (the rate limit aside), on a fresh
PostgreSQL database (dropped afterwards) holding `--runs` runs: four real offline runs waiting
for sign-off, copied.
In each of `--waves` waves, `--sockets` connections send `GET /v1/runs?limit=200` and never read
a byte. Printed: the size of that page, and the server's resident memory, the connections it
holds and what the kernel still queues for them, before, once every answer of a wave has
started, and after the write timeout (twice it, and ten seconds more). On loopback the kernel
takes up to 4 MB of each answer itself; `--request-chars` makes the runs, and so the pages of
code without a byte budget, larger than that. The allocator keeps memory the process freed, so
what the second wave adds shows whether the first wave's buffers were freed (reused) or are
still held. Run it with `--server-root` pointing at another checkout (`git archive main | tar
-x -C DIR`) to measure that code the same way. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench_load import start_server  # noqa: E402
from databases import scratch_database  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from core.database import get_engine, session_scope  # noqa: E402
from core.services import demo, principals  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.tables import Run  # noqa: E402
from graphs.runner import open_runner  # noqa: E402

PORT = 18_200
SHAPES = ("C-1001", "C-1002", "C-1003", "C-1004")  # demo clients: plans of different sizes


def seed(url: str, runs: int, request: int) -> str:
    """Demo principals and clients, `runs` runs (each copy's request `request` characters
    long, if not 0), and a supervisor's token."""
    with session_scope(get_engine(url)) as session:
        demo.seed(session)
        token = principals.create(session, "sup-bench", "supervisor")[1]
    by_id = {c.client_id: c for c in demo.load_clients()}
    with open_runner(Settings(database_url=url)) as runner:
        made = [runner.execute(runner.create(by_id[c], as_of=date.today()).id).id for c in SHAPES]
        with session_scope(runner.engine) as session:
            shapes = [session.get_one(Run, run_id) for run_id in made]
            rows: list[dict[str, Any]] = []
            for n in range(runs - len(shapes)):
                shape = shapes[n % len(shapes)]
                rows.append(
                    {
                        **{c: getattr(shape, c) for c in Run.model_fields},
                        "id": f"run-slow-{n:05d}",
                        "idempotency_key": None,
                        "request_hash": None,
                        "created_at": shape.created_at - timedelta(seconds=n + 1),
                        "request": ("请多配一些债券。" * 250)[:request] or shape.request,
                    }
                )
            session.execute(insert(Run), rows)
    return token


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def sockets() -> tuple[int, float]:
    """Connections the server holds (established, on its port), and the MB the kernel still
    queues for clients on that port, the server's closed ones included (a close leaves unread
    data to the kernel until the orphaned connection times out; a reset drops it)."""
    held, queued = 0, 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == PORT:
                held += fields[3] == "01"
                queued += int(fields[4].split(":")[0], 16)
    return held, queued / 2**20


def started(sock: socket.socket) -> bool:
    """Whether a response has begun to arrive (peeked, so nothing is read)."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sockets", type=int, default=40)
    parser.add_argument("--runs", type=int, default=250)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--waves", type=int, default=2)
    parser.add_argument("--request-chars", type=int, default=0, help="longer runs, up to 2000")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--server-root", type=Path, default=ROOT)
    args = parser.parse_args()
    with scratch_database(args.database, "tw_slow") as url:
        token = seed(url, args.runs, args.request_chars)
        log = Path("/tmp") / "tw_slow_readers.log"
        server = start_server(url, PORT, log, args.server_root.resolve())
        try:
            measure(args, server.pid, token)
        finally:
            server.terminate()
            server.wait(timeout=60)


def measure(args: argparse.Namespace, pid: int, token: str) -> None:
    path = f"/v1/runs?limit={args.limit}"
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=60) as http:
        for _ in range(3):  # warm: the same page read in full, as a client that reads does
            page = http.get(path, headers=headers)
    body = page.json()
    print(
        f"GET {path}: {len(page.content):,} bytes, {len(body['items'])} runs, "
        f"next {'set' if body['next'] else 'null'} (code under test: {args.server_root})"
    )
    wait = 2 * Settings().write_timeout_seconds + 10
    print(f"waves of {args.sockets} sockets send it and never read; each measured {wait:.0f} s on")
    print(f"{'':<30}{'RSS MB':>10}{'held':>8}{'kernel MB':>11}")

    def row(what: str) -> None:
        held, queued = sockets()
        print(f"{what:<30}{rss_mb(pid):>10.1f}{held:>8}{queued:>11.1f}")

    row("before")
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n"
    socks: list[socket.socket] = []
    for wave in range(1, args.waves + 1):
        sent = [socket.create_connection(("127.0.0.1", PORT)) for _ in range(args.sockets)]
        for sock in sent:
            sock.sendall(request.encode())
        socks += sent
        deadline = time.monotonic() + 120
        while not all(started(s) for s in sent) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)  # the last responses written to their buffers
        row(f"wave {wave}, answers started")
        time.sleep(wait)
        row(f"wave {wave}, {wait:.0f} s later")
    for sock in socks:
        sock.close()


if __name__ == "__main__":
    main()
