"""A forked worker process opens its own database engine: the parent's pool is never shared."""

from __future__ import annotations

import os

from sqlalchemy import text

from core.database import forget_engines, get_engine
from core.settings import Settings


def test_a_forked_child_opens_its_own_engine_and_the_parent_keeps_its_own(
    settings: Settings,
) -> None:
    parent = get_engine(settings.database_url)
    with parent.connect() as connection:
        connection.execute(text("SELECT 1"))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: as Celery's pool process after the fork
        code = 1
        try:
            forget_engines()
            child = get_engine(settings.database_url)
            with child.connect() as connection:
                connection.execute(text("SELECT 1"))
            code = 0 if child is not parent else 2
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    assert answer == b"\x00"
    # The parent's pooled connection was not closed under it by the child.
    assert get_engine(settings.database_url) is parent
    with parent.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
