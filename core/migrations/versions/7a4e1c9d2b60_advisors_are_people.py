"""advisors are people: a principal's display name, registration number and contact, and the
signed letter a delivery sent

Revision ID: 7a4e1c9d2b60
Revises: 36de47c9860f
Create Date: 2026-12-07 22:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "7a4e1c9d2b60"
down_revision = "36de47c9860f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every new column is nullable: principals and deliveries made before it stay as they are
    # (an advisor without a name and registration cannot sign off until they are set).
    with op.batch_alter_table("principal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("registration", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("document")
    with op.batch_alter_table("principal", schema=None) as batch_op:
        batch_op.drop_column("contact")
        batch_op.drop_column("registration")
        batch_op.drop_column("display_name")
