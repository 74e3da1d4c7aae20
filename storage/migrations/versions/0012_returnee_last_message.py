"""when each returnee last wrote (WhatsApp's 24-hour window for free-form messages)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("returnees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("returnees", schema=None) as batch_op:
        batch_op.drop_column("last_message_at")
