"""whatsapp user ids: a WhatsApp returnee known by their business-scoped user id (BSUID),
with the phone number's pseudonym kept beside it when the platform shows one

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 20:00:00

Returnees who joined on WhatsApp before this revision are known by the pseudonym of their
phone number: it is copied to ``phone_pseudonym``, so the first message that carries both
their number and their BSUID links them to the BSUID (the same returnee, never a second).
Their chat address stays their number until then.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # (a column and a unique index, not a table constraint: SQLite would rebuild the
    # table, and dropping the old one would cascade to every survey of every returnee)
    op.add_column("returnees", sa.Column("phone_pseudonym", sa.String(length=64), nullable=True))
    op.create_index(
        op.f("ix_returnees_phone_pseudonym"), "returnees", ["phone_pseudonym"], unique=True
    )
    op.execute(
        "UPDATE returnees SET phone_pseudonym = telegram_pseudonym "
        "WHERE channel = 'whatsapp' AND telegram_pseudonym IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_returnees_phone_pseudonym"), table_name="returnees")
    with op.batch_alter_table("returnees", schema=None) as batch_op:
        batch_op.drop_column("phone_pseudonym")
