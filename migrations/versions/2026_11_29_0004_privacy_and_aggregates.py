"""privacy and aggregates: stories unjoinable to answers, no answer timestamps, teams on
deliveries, per-round aggregates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

A story's author was the very pseudonym their answers carry, so a named story unmasked every
answer of its author. Stories now carry a keyed hash of the pseudonym and the round instead
(computing it needs TRUSTBOT_PSEUDONYM_KEY, which `trustbot migrate` passes in), and neither
stories nor answers keep a wall-clock time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    from trustbot.core.privacy import keyed_hash
    from trustbot.db.migrate import MigrationNeedsKeyError

    connection = op.get_bind()
    with op.batch_alter_table("anecdotes") as batch:
        batch.add_column(sa.Column("author_key", sa.String(64), nullable=True))
    stories = connection.execute(sa.text("SELECT id, author, round_id FROM anecdotes")).all()
    key = context.config.attributes.get("pseudonym_key")
    if stories and not key:
        raise MigrationNeedsKeyError(
            f"TRUSTBOT_PSEUDONYM_KEY: needed to migrate {len(stories)} stories; "
            "set it and run `trustbot migrate` again"
        )
    for story in stories:
        connection.execute(
            sa.text("UPDATE anecdotes SET author_key = :k WHERE id = :id"),
            {"id": story.id, "k": keyed_hash("story", f"{story.author}:{story.round_id}", key=key)},
        )
    with op.batch_alter_table("anecdotes") as batch:
        batch.drop_index("ix_anecdotes_round_created")
        batch.drop_column("author")
        batch.drop_column("created_at")
        batch.alter_column("author_key", existing_type=sa.String(64), nullable=False)
        batch.create_index("ix_anecdotes_author_key", ["author_key"])
        batch.create_index("ix_anecdotes_round_id", ["round_id"])

    with op.batch_alter_table("pulse_answers") as batch:
        batch.drop_column("answered_at")
        batch.drop_column("updated_at")
    # Closed rounds no longer need to order clicks.
    connection.execute(
        sa.text(
            "UPDATE pulse_answers SET acted_us = 0 WHERE round_id IN "
            "(SELECT id FROM rounds WHERE closed_at IS NOT NULL)"
        )
    )

    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("team", sa.String(64), nullable=True))

    op.create_table(
        "round_aggregates",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "delivered",
                "answered",
                "score_sum",
                "n1",
                "n2",
                "n3",
                "n4",
                "n5",
                "reactions",
                "stories_shared",
                "stories_private",
            )
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_round_aggregates_round_id_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "team", name=op.f("pk_round_aggregates")),
    )


def downgrade() -> None:
    op.drop_table("round_aggregates")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("team")
    epoch = "1970-01-01 00:00:00+00:00"
    with op.batch_alter_table("pulse_answers") as batch:
        batch.add_column(sa.Column("answered_at", TIMESTAMP, server_default=epoch, nullable=False))
        batch.add_column(sa.Column("updated_at", TIMESTAMP, server_default=epoch, nullable=False))
    # The old schema kept the author's pseudonym, which a keyed hash cannot give back: stories
    # get a placeholder author (they stay readable; they can no longer be told apart by author).
    with op.batch_alter_table("anecdotes") as batch:
        batch.add_column(sa.Column("author", sa.String(64), server_default="", nullable=False))
        batch.add_column(sa.Column("created_at", TIMESTAMP, server_default=epoch, nullable=False))
        batch.drop_index("ix_anecdotes_round_id")
        batch.drop_index("ix_anecdotes_author_key")
        batch.drop_column("author_key")
        batch.create_index("ix_anecdotes_round_created", ["round_id", "created_at"])
