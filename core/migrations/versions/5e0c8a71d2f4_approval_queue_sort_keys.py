"""the inbox queue: each review's risk sort keys and an index to page pending reviews

Revision ID: 5e0c8a71d2f4
Revises: bbf81956c774
Create Date: 2026-11-30 09:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "5e0c8a71d2f4"
down_revision = "bbf81956c774"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The server defaults stand for reviews opened before this revision until the update
    # below fills them in; the application always writes both.
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "risk_level",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(sa.Column("volatility", sa.Float(), nullable=False, server_default="0"))
        batch_op.create_index(
            "ix_approval_queue", ["status", "advisor_id", "created_at", "id"], unique=False
        )
    _backfill()


def _backfill() -> None:
    """Each review's keys from its run's profile (or the assessed level) and its plan, in one
    statement: no review is read into this process."""
    approval = sa.table(
        "approval",
        sa.column("run_id", sa.String()),
        sa.column("plan", sa.JSON()),
        sa.column("risk_level", sa.String()),
        sa.column("volatility", sa.Float()),
    )
    run = sa.table(
        "run",
        sa.column("id", sa.String()),
        sa.column("profile", sa.JSON()),
        sa.column("client_snapshot", sa.JSON()),
    )
    level = sa.func.coalesce(
        run.c.profile["risk_level"].as_string(),
        run.c.client_snapshot[("risk_assessment", "level")].as_string(),
    )
    op.execute(
        sa.update(approval).values(
            risk_level=sa.func.coalesce(
                sa.select(level).where(run.c.id == approval.c.run_id).scalar_subquery(), ""
            ),
            volatility=sa.func.coalesce(approval.c.plan["expected_volatility"].as_float(), 0.0),
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.drop_index("ix_approval_queue")
        batch_op.drop_column("volatility")
        batch_op.drop_column("risk_level")
