"""staff scopes: which returnees each staff member sees and acts on; how a console
session was signed in

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 02:00:00

Staff added before this revision keep seeing everyone (scope ``all``) until an admin
narrows it; rounds and schedules started before it reach everyone, as they did.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=400), server_default="all", nullable=False)
        )
    with op.batch_alter_table("reminder_rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.Text(), nullable=True))
    with op.batch_alter_table("round_schedules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.Text(), nullable=True))
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("how", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_column("how")
    for table in ("round_schedules", "reminder_rounds", "staff"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("scope")
