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
    with op.batch_alter_table("returnees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_pseudonym", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_returnees_phone_pseudonym"), ["phone_pseudonym"])
    op.execute(
        "UPDATE returnees SET phone_pseudonym = telegram_pseudonym "
        "WHERE channel = 'whatsapp' AND telegram_pseudonym IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("returnees", schema=None) as batch_op:
        batch_op.drop_constraint("uq_returnees_phone_pseudonym", type_="unique")
        batch_op.drop_column("phone_pseudonym")
