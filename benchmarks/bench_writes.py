"""Acknowledged writes that the next request cannot see: PUT a new client, then GET it at once.

python benchmarks/bench_writes.py [--threads T] [--pairs N]

A real server on loopback and SQLite; T threads each PUT N new clients and GET each one right
after its 2xx, while another thread keeps triggering runs. Prints how many acknowledged PUTs
were followed by a 404 (issue 11 §1: a 2xx must mean the write is committed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from factories import client_data  # noqa: E402
from live import serve  # noqa: E402

from api.app import create_app  # noqa: E402
from core.database import get_engine, session_scope  # noqa: E402
from core.services import principals  # noqa: E402
from core.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=75)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'w.db'}"
        settings = Settings(environment="test", database_url=url, rate_limit="1000000/minute")
        with session_scope(get_engine(settings.database_url)) as session:
            token = principals.create(session, "svc", "service")[1]
        headers = {"Authorization": f"Bearer {token}"}
        missing: list[str] = []
        done = threading.Event()
        with serve(create_app(settings)) as base, httpx.Client(base_url=base) as http:

            def writer(worker: int) -> None:
                for i in range(args.pairs):
                    body = client_data(client_id=f"C-{worker}-{i}")
                    put = http.put(f"/v1/clients/{body['client_id']}", json=body, headers=headers)
                    if put.status_code != 200:
                        continue
                    got = http.get(f"/v1/clients/{body['client_id']}", headers=headers)
                    if got.status_code == 404:
                        missing.append(f"{body['client_id']}: {got.status_code} {got.text[:80]}")

            def trigger() -> None:
                body = client_data(client_id="C-LOAD")
                http.put("/v1/clients/C-LOAD", json=body, headers=headers)
                while not done.wait(0.05):
                    http.post("/v1/runs", json={"client_id": "C-LOAD"}, headers=headers)

            started = time.perf_counter()
            load = threading.Thread(target=trigger)
            load.start()
            threads = [threading.Thread(target=writer, args=(w,)) for w in range(args.threads)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            done.set()
            load.join()
        total = args.threads * args.pairs
        print(
            f"{args.threads} threads x {args.pairs} PUT-then-GET pairs, runs triggered alongside,"
        )
        print(f"  in {time.perf_counter() - started:.1f}s")
        print(f"  acknowledged then missing: {len(missing)} of {total}")
        for line in missing[:5]:
            print(f"    {line}")


if __name__ == "__main__":
    main()
