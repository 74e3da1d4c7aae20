"""feedback quota

A returnee may send a few feedback messages a day: the count is kept under an HMAC
pseudonym of the returnee and the day, not linked to the feedback itself.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback_quota",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_feedback_quota")),
    )
    op.create_index(op.f("ix_feedback_quota_day"), "feedback_quota", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_feedback_quota_day"), table_name="feedback_quota")
    op.drop_table("feedback_quota")
