"""special care and the duty pool: acceptances of special-care offers with their linked runs,
follow-up calls, advisors on duty and the reviews they claim

Revision ID: 4b8d2f6a9c31
Revises: 7a4e1c9d2b60
Create Date: 2026-12-08 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "4b8d2f6a9c31"
down_revision = "7a4e1c9d2b60"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing principals are off duty, existing runs unlinked, existing reviews unclaimed.
    with op.batch_alter_table("principal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("on_duty", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("parent_run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("special_care", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_run_parent_run_id"), ["parent_run_id"], unique=False)
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.create_table(
        "specialcareacceptance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("offered", sa.JSON(), nullable=False),
        sa.Column("offered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("accepted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("acknowledgement", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column(
            "acknowledgement_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        ),
        sa.Column("accepted_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("callback", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["offer_run_id"], ["run.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("offer_run_id", name="uq_special_care_offer"),
        sa.UniqueConstraint("run_id"),
    )
    with op.batch_alter_table("specialcareacceptance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_specialcareacceptance_client_id"), ["client_id"], unique=False
        )
    op.create_table(
        "callback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("acceptance_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("advisor_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("done_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("done_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["acceptance_id"], ["specialcareacceptance.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("acceptance_id"),
    )
    with op.batch_alter_table("callback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callback_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            "ix_callback_queue", ["status", "advisor_id", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("callback", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_queue")
        batch_op.drop_index(batch_op.f("ix_callback_client_id"))
    op.drop_table("callback")
    with op.batch_alter_table("specialcareacceptance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_specialcareacceptance_client_id"))
    op.drop_table("specialcareacceptance")
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_parent_run_id"))
        batch_op.drop_column("special_care")
        batch_op.drop_column("parent_run_id")
    with op.batch_alter_table("principal", schema=None) as batch_op:
        batch_op.drop_column("on_duty")
