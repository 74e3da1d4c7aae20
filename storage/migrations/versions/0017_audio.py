"""audio: the returnee's choice of voice notes with questions, the media ids of clips
a channel already holds, feedback sent as a voice note

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 11:00:00

Returnees enrolled before this revision hear the clips of a survey that has them (audio
on, as for new returnees) until they switch it off; their feedback stays written.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("returnees", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("audio_prompts", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voice_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("voice_mime", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("voice_seconds", sa.Integer(), nullable=True))
    op.create_table(
        "media_uploads",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("media_id", sa.String(length=512), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "digest"),
    )


def downgrade() -> None:
    op.drop_table("media_uploads")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("voice_seconds")
        batch_op.drop_column("voice_mime")
        batch_op.drop_column("voice_enc")
    with op.batch_alter_table("returnees", schema=None) as batch_op:
        batch_op.drop_column("audio_prompts")
