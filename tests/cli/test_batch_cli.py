"""`tierwise batch` on the embedded engine, as a subprocess: file or --all, progress, Ctrl-C,
resume, and one JSON summary on stdout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

from factories import client_data, long_tail_client
from sqlmodel import Session, select

from core.database import get_engine, session_scope
from core.services import batches, clients
from core.settings import Settings
from core.tables import Batch, Client, Run

TIERWISE = Path(sys.executable).with_name("tierwise")


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "TIERWISE_DATABASE_URL": settings.database_url,
        "TIERWISE_ENVIRONMENT": "test",
        "COLUMNS": "160",
    }


def _batch(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TIERWISE), "batch", *args],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _create(session: Session, settings: Settings, selection: batches.Selection) -> Batch:
    return batches.create(
        session,
        selection,
        tiers=settings.tiers,
        as_of=date(2026, 11, 25),
        shipped_from=date(2017, 8, 4),
        actor="t",
    )


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def test_a_file_of_clients_is_stored_and_run_with_a_summary_on_stdout(settings, tmp_path):  # type: ignore[no-untyped-def]
    rows = [client_data(client_id=f"C-LT{n}", aum=200000, liquidity_need=20000) for n in range(3)]
    rows.append(client_data(client_id="C-MID"))
    done = _batch(settings, str(_jsonl(tmp_path / "book.jsonl", rows)), "--as-of", "2026-11-20")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert set(summary) == {"batch_id", "status", "total", "counts"}
    assert summary["status"] == "done" and summary["total"] == 4
    assert summary["counts"] == {"delivered": 3, "awaiting_approval": 1}
    # The progress bar, on stderr: done/total, rate, ETA and the counts by status.
    assert "plans/s" in done.stderr and "4/4" in done.stderr and "ETA" in done.stderr
    assert "awaiting_approval 1" in done.stderr and "delivered 3" in done.stderr
    with session_scope(get_engine(settings.database_url)) as session:
        assert len(session.exec(select(Client)).all()) == 4
        assert {r.as_of for r in session.exec(select(Run))} == {"2026-11-20"}


def test_a_bad_line_names_its_line_and_nothing_is_stored(settings, tmp_path):  # type: ignore[no-untyped-def]
    rows = [client_data(client_id="C-1"), client_data(client_id="C-2", aum=-1)]
    path = _jsonl(tmp_path / "bad.jsonl", rows)
    with path.open("a", encoding="utf-8") as more:
        more.write("{not json\n")
    failed = _batch(settings, str(path))
    assert failed.returncode == 1 and failed.stdout == ""
    assert "line 2: aum" in failed.stderr and "line 3" in failed.stderr
    assert "nothing was stored" in failed.stderr
    with session_scope(get_engine(settings.database_url)) as session:
        assert session.exec(select(Client)).all() == []
        assert session.exec(select(Batch)).all() == []


def test_a_byte_order_mark_is_read_and_bad_bytes_or_a_client_twice_are_named(  # type: ignore[no-untyped-def]
    settings, tmp_path
):
    rows = [client_data(client_id="C-1", aum=200000, liquidity_need=20000)]
    with_bom = tmp_path / "excel.jsonl"
    with_bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(rows[0]).encode() + b"\n")
    done = _batch(settings, str(with_bom))
    assert done.returncode == 0, done.stderr
    bad = tmp_path / "bad.jsonl"
    twice = [
        client_data(client_id="C-2"),
        client_data(client_id="C-3"),
        client_data(client_id="C-2"),
    ]
    bad.write_bytes(
        b"\n".join(json.dumps(r).encode() for r in twice) + b"\n" + b'{"name": "\xff"}\n'
    )
    failed = _batch(settings, str(bad))
    assert failed.returncode == 1, failed.stderr
    err = " ".join(failed.stderr.split())  # rich wraps long lines
    assert "line 3: client 'C-2' is also on line 1" in err
    assert "line 4: not UTF-8" in err
    with session_scope(get_engine(settings.database_url)) as session:
        assert {c.id for c in session.exec(select(Client))} == {"C-1"}


def test_a_valuation_date_out_of_range_is_refused_and_nothing_is_stored(settings, tmp_path):  # type: ignore[no-untyped-def]
    path = _jsonl(tmp_path / "book.jsonl", [client_data(client_id="C-1")])
    for day, why in (("9999-12-31", "is in the future"), ("0001-01-01", "is before")):
        refused = _batch(settings, str(path), "--as-of", day)
        assert refused.returncode == 1, refused.stderr
        assert f"InvalidInput: as_of {day} {why}" in " ".join(refused.stderr.split())
    zero = _batch(settings, "--all", "--as-of", "0")
    assert zero.returncode == 2 and "--as-of must be YYYY-MM-DD" in zero.stderr
    with session_scope(get_engine(settings.database_url)) as session:
        assert session.exec(select(Client)).all() == []  # the file's clients neither
        assert session.exec(select(Batch)).all() == []


def test_all_stored_clients_of_a_tier(settings):  # type: ignore[no-untyped-def]
    with session_scope(get_engine(settings.database_url)) as session:
        clients.upsert(session, long_tail_client(client_id="C-A"))
        clients.upsert(session, long_tail_client(client_id="C-B", aum=900_000))
    done = _batch(settings, "--all", "--tier", "long_tail")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"] == {"delivered": 1}


def test_arguments_that_do_not_make_one_batch_are_refused(settings, tmp_path):  # type: ignore[no-untyped-def]
    for args in ([], ["resume"], ["--tier", "hnw"], ["--all", "--tier", "gold"], ["nofile.jsonl"]):
        refused = _batch(settings, *args)
        assert refused.returncode == 2, (args, refused.stderr)
    missing = _batch(settings, "resume", "batch-missing")
    assert missing.returncode == 1 and "BatchNotFound" in missing.stderr


def test_ctrl_c_leaves_the_batch_resumable_and_resume_finishes_it(settings, tmp_path):  # type: ignore[no-untyped-def]
    total = 40
    rows = [
        client_data(client_id=f"C-{n:03}", aum=200000, liquidity_need=20000) for n in range(total)
    ]
    path = _jsonl(tmp_path / "book.jsonl", rows)
    process = subprocess.Popen(
        [str(TIERWISE), "batch", str(path)],
        env=_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    engine = get_engine(settings.database_url)

    def delivered() -> int:
        with session_scope(engine) as session:
            return len(session.exec(select(Run).where(Run.status == "delivered")).all())

    while delivered() < 3:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 130, err
    stopped = json.loads(out)
    assert stopped["status"] == "running" and sum(stopped["counts"].values()) == total
    assert stopped["counts"].get("delivered", 0) < total
    assert f"tierwise batch resume {stopped['batch_id']}" in err
    with session_scope(engine) as session:
        held = batches.get(session, stopped["batch_id"])
        assert held.lease_owner is None  # let go: nothing waits for a lease to lapse
        assert {r.status for r in session.exec(select(Run))} <= {"delivered"}  # none half-run
    resumed = _batch(settings, "resume", stopped["batch_id"])
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout) == {
        "batch_id": stopped["batch_id"],
        "status": "done",
        "total": total,
        "counts": {"delivered": total},
    }
    with session_scope(engine) as session:
        made = session.exec(select(Run)).all()
        assert len(made) == len({r.client_id for r in made}) == total


def test_resume_refuses_a_cancelled_batch_and_finds_a_done_one_done(settings):  # type: ignore[no-untyped-def]
    with session_scope(get_engine(settings.database_url)) as session:
        clients.upsert(session, long_tail_client(client_id="C-A"))
        made = _create(session, settings, batches.Selection())
        empty = _create(session, settings, batches.Selection(advisor_id="adv-nobody"))
        batches.cancel(session, made.id)
    refused = _batch(settings, "resume", made.id)
    assert refused.returncode == 1 and refused.stdout == ""
    err = " ".join(refused.stderr.split())
    assert f"BatchCancelled: batch {made.id} was cancelled at" in err
    assert "held by another process" not in err
    done = _batch(settings, "resume", empty.id)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "done"
    assert "held by another process" not in done.stderr


def test_resume_waits_for_a_dead_drivers_lease_then_takes_the_batch(settings, tmp_path):  # type: ignore[no-untyped-def]
    lease = 1.0
    engine = get_engine(settings.database_url)
    with session_scope(engine) as session:
        clients.upsert(session, long_tail_client(client_id="C-A"))
        made = _create(session, settings, batches.Selection())
    # Another driver holds the batch, renewing its lease, until the resume says it waits; then
    # it dies (stops renewing), and the resume takes the batch once the lease has lapsed.
    dead = threading.Event()

    def other_driver() -> None:
        while True:
            with session_scope(engine) as session:
                assert batches.acquire(session, made.id, "other-cli", lease)
            if dead.wait(lease / 3):
                return

    holder = threading.Thread(target=other_driver, daemon=True)
    holder.start()
    process = subprocess.Popen(
        [str(TIERWISE), "batch", "resume", made.id],
        env={**_env(settings), "TIERWISE_LEASE_SECONDS": str(lease)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "held by another process; waiting" in line:
            break
    dead.set()
    holder.join()
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, "".join(seen) + err
    assert any("waiting" in line for line in seen)
    assert json.loads(out)["counts"] == {"delivered": 1}
