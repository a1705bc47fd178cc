"""teams: sealed conversation references for proactive messages; a named story's display name

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A named story on Teams shows its author's display name (Slack resolves a mention itself).
    with op.batch_alter_table("anecdotes") as batch:
        batch.add_column(sa.Column("author_name", sa.String(200), nullable=True))
        batch.create_check_constraint(
            "display_name_only_when_named", "author_name IS NULL OR visibility = 'named'"
        )
    op.create_table(
        "teams_conversations",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("installed", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_teams_conversations")),
    )


def downgrade() -> None:
    # The old schema cannot reach Teams users: their references go.
    op.execute(sa.text("DELETE FROM deliveries WHERE platform = 'teams'"))
    op.drop_table("teams_conversations")
    with op.batch_alter_table("anecdotes") as batch:
        batch.drop_constraint("display_name_only_when_named", type_="check")
        batch.drop_column("author_name")
