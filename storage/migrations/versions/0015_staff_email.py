"""staff accounts by email: a Telegram id becomes optional

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 22:00:00

Staff added before this revision keep their Telegram id (as its pseudonym) and have no
email address until an admin gives them one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.alter_column(
            "telegram_pseudonym", existing_type=sa.String(length=64), nullable=True
        )
        batch_op.create_unique_constraint("uq_staff_email", ["email"])


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_constraint("uq_staff_email", type_="unique")
        batch_op.alter_column(
            "telegram_pseudonym", existing_type=sa.String(length=64), nullable=False
        )
        batch_op.drop_column("email")
