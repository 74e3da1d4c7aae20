"""round schedules: reminder rounds that run themselves daily

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "round_schedules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("wave", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=True),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("repeat_days", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_run_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_schedules")),
    )
    with op.batch_alter_table("reminder_rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reminder_rounds", schema=None) as batch_op:
        batch_op.drop_column("schedule_id")
    op.drop_table("round_schedules")
