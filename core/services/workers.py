"""Workers: the processes that execute runs, and which of them are known to be dead.

A run names the worker answerable for it (the one that queued it, then the one holding its
lease). When that worker is known to be dead, its runs are taken over at once instead of when
their leases run out. Known dead means one of two things that cannot be wrong:

- it said it stopped (a clean shutdown: it finished or gave back everything it held);
- it ran on this machine, in this process namespace, and its process is gone.

A worker on another machine that merely went quiet is not known dead: it may be paused, and
its leases still protect its runs until they expire.
"""

from __future__ import annotations

import hashlib
import os
import socket
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from core.tables import Run, Worker, utcnow

ACTIVE = ("queued", "running", "awaiting_approval")


def this_host() -> str:
    """This machine and process namespace: host name, plus a digest of the boot id and the pid
    namespace where Linux gives them, so two containers or machines sharing a host name never
    judge each other's process ids."""
    name = socket.gethostname()[:40]
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return f"{name}/unknown"
    return f"{name}/{hashlib.sha256(f'{boot}:{namespace}'.encode()).hexdigest()[:16]}"


def register(session: Session, worker_id: str, host: str, pid: int) -> None:
    session.add(Worker(id=worker_id, host=host, pid=pid))


def beat(session: Session, worker_id: str) -> None:
    session.execute(update(Worker).where(col(Worker.id) == worker_id).values(seen_at=utcnow()))


def stop(session: Session, worker_id: str) -> None:
    """A clean shutdown: whatever this worker still answers for may be taken at once."""
    session.execute(update(Worker).where(col(Worker.id) == worker_id).values(stopped_at=utcnow()))


def _answerable() -> SelectOfScalar[str | None]:
    """The workers named by an active run."""
    return select(col(Run.worker)).where(col(Run.status).in_(ACTIVE), col(Run.worker).is_not(None))


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def dead(session: Session, host: str) -> set[str]:
    """The workers answerable for an active run that are known to be dead (see the module)."""
    found = session.exec(select(Worker).where(col(Worker.id).in_(_answerable().distinct())))
    return {
        w.id
        for w in found
        if w.stopped_at is not None
        or (w.host == host and not host.endswith("/unknown") and _process_gone(w.pid))
    }


def prune(session: Session, before: datetime) -> int:
    """Delete the rows of workers stopped, or last seen, before `before` that answer for no
    active run; returns how many went."""
    result = session.execute(
        delete(Worker).where(
            or_(col(Worker.stopped_at) < before, col(Worker.seen_at) < before),
            col(Worker.id).not_in(_answerable()),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
