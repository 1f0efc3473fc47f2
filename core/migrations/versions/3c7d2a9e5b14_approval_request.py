"""the client's request and its review on each approval round

Revision ID: 3c7d2a9e5b14
Revises: 09bb01beffaa
Create Date: 2026-11-29 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "3c7d2a9e5b14"
down_revision = "09bb01beffaa"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.drop_column("request")
