"""the channel each returnee answers on (telegram, console...)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("returnees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=16), nullable=True))
    # returnees who joined before: on Telegram, the only chat channel until now
    op.execute("UPDATE returnees SET channel = 'telegram' WHERE telegram_pseudonym IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("returnees", schema=None) as batch_op:
        batch_op.drop_column("channel")
