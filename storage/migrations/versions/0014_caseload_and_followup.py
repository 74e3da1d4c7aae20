"""caseload: returnee profiles and assistance items; follow-up flags and actions

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 21:30:00

Returnees enrolled before this revision have no profile and no assistance until a
caseload import or staff add them. Surveys completed before it are marked as checked
by the follow-up rules (staff have seen them already): only surveys completed from now
on raise flags.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flags_checked_at", AT, nullable=True))
    op.execute(
        "UPDATE survey_responses SET flags_checked_at = completed_at WHERE status = 'completed'"
    )
    op.create_table(
        "returnee_profiles",
        sa.Column("returnee_id", sa.String(36), nullable=False),
        sa.Column("attributes", sa.Text(), nullable=True),
        sa.Column("sealed_enc", sa.LargeBinary(), nullable=True),
        sa.Column("first_name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("contact_whatsapp", sa.Boolean(), nullable=False),
        sa.Column("office", sa.String(64), nullable=True),
        sa.Column("caseworker", sa.String(80), nullable=True),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("updated_at", AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["returnee_id"],
            ["returnees.id"],
            name="fk_returnee_profiles_returnee_id_returnees",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("returnee_id", name="pk_returnee_profiles"),
    )
    op.create_index("ix_returnee_profiles_office", "returnee_profiles", ["office"])
    op.create_index("ix_returnee_profiles_caseworker", "returnee_profiles", ["caseworker"])
    op.create_table(
        "assistance_items",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("returnee_id", sa.String(36), nullable=False),
        sa.Column("item_key", sa.String(64), nullable=False),
        sa.Column("details_enc", sa.LargeBinary(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("updated_at", AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["returnee_id"],
            ["returnees.id"],
            name="fk_assistance_items_returnee_id_returnees",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assistance_items"),
    )
    op.create_index("ix_assistance_items_returnee_id", "assistance_items", ["returnee_id"])
    op.create_index("ix_assistance_items_item_key", "assistance_items", ["item_key"])
    op.create_table(
        "followup_flags",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("returnee_id", sa.String(36), nullable=False),
        sa.Column("response_id", sa.String(36), nullable=False),
        sa.Column("wave", sa.String(16), nullable=False),
        sa.Column("reasons_enc", sa.LargeBinary(), nullable=False),
        sa.Column("raised_at", AT, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("closed_at", AT, nullable=True),
        sa.ForeignKeyConstraint(
            ["returnee_id"],
            ["returnees.id"],
            name="fk_followup_flags_returnee_id_returnees",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["survey_responses.id"],
            name="fk_followup_flags_response_id_survey_responses",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_followup_flags"),
        sa.UniqueConstraint("response_id", name="uq_followup_flags_response_id"),
    )
    op.create_index("ix_followup_flags_returnee_id", "followup_flags", ["returnee_id"])
    op.create_index("ix_followup_flags_raised_at", "followup_flags", ["raised_at"])
    op.create_index("ix_followup_flags_state", "followup_flags", ["state"])
    op.create_table(
        "followup_actions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("returnee_id", sa.String(36), nullable=False),
        sa.Column("flag_id", sa.String(36), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("at", AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["returnee_id"],
            ["returnees.id"],
            name="fk_followup_actions_returnee_id_returnees",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["followup_flags.id"],
            name="fk_followup_actions_flag_id_followup_flags",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_followup_actions"),
    )
    op.create_index("ix_followup_actions_returnee_id", "followup_actions", ["returnee_id"])
    op.create_index("ix_followup_actions_flag_id", "followup_actions", ["flag_id"])


def downgrade() -> None:
    op.drop_table("followup_actions")
    op.drop_table("followup_flags")
    op.drop_table("assistance_items")
    op.drop_table("returnee_profiles")
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_column("flags_checked_at")
