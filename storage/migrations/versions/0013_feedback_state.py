"""feedback as work: new / read / handled, by whom and when

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 17:00:00

Feedback stored before this revision is "new": nobody has marked it read or handled.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="new")
        )
        batch_op.add_column(sa.Column("state_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("state_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_feedback_state", ["state"])


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_state")
        batch_op.drop_column("state_at")
        batch_op.drop_column("state_by")
        batch_op.drop_column("state")
