"""staff console: single-use sign-in links and sessions (hashes only)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("console_links", "console_sessions"):
        columns: list[sa.schema.SchemaItem] = [
            sa.Column("token_hash", sa.String(length=64), nullable=False),
            sa.Column("staff_id", sa.String(length=36), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        ]
        if table == "console_links":
            columns += [
                sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
                sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
            ]
        else:
            columns.append(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False))
        op.create_table(
            table,
            *columns,
            sa.ForeignKeyConstraint(
                ["staff_id"],
                ["staff.id"],
                name=op.f(f"fk_{table}_staff_id_staff"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("token_hash", name=op.f(f"pk_{table}")),
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_staff_id"), ["staff_id"], unique=False)


def downgrade() -> None:
    op.drop_table("console_sessions")
    op.drop_table("console_links")
