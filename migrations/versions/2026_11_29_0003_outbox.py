"""outbox: deliveries carry prompts, reminders and digests, with sealed addresses; rounds close;
job runs, person settings and leases

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Stored prompt addresses (DM channel id and message ts, in the clear until now) are replaced by a
keyed hash to find the message again and a sealed copy to update it: both need
TRUSTBOT_PSEUDONYM_KEY, which `trustbot migrate` passes in when it is set.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def _key(rows: int) -> str | None:
    from trustbot.db.migrate import MigrationNeedsKeyError

    key = context.config.attributes.get("pseudonym_key")
    if rows and not key:
        raise MigrationNeedsKeyError(
            f"TRUSTBOT_PSEUDONYM_KEY: needed to migrate {rows} stored prompt addresses; "
            "set it and run `trustbot migrate` again"
        )
    return key


def upgrade() -> None:
    from trustbot.core.privacy import keyed_hash
    from trustbot.core.legacy import FernetSeal as AddressSeal

    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), server_default="pulse", nullable=False))
        batch.add_column(sa.Column("closed_at", TIMESTAMP, nullable=True))
        batch.drop_constraint("uq_rounds_period", type_="unique")
        batch.create_unique_constraint("uq_rounds_period_kind", ["period", "kind"])

    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), server_default="prompt", nullable=False))
        batch.add_column(sa.Column("period", sa.String(10), nullable=True))
        batch.add_column(sa.Column("seq", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("address", sa.Text(), nullable=True))
        batch.add_column(sa.Column("message_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("message_ref", sa.Text(), nullable=True))
        batch.add_column(sa.Column("next_attempt_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("claimed_until", TIMESTAMP, nullable=True))

    connection = op.get_bind()
    connection.execute(
        sa.text(
            "UPDATE deliveries SET period = "
            "(SELECT period FROM rounds WHERE rounds.id = deliveries.round_id)"
        )
    )
    addressed = connection.execute(
        sa.text(
            "SELECT id, platform, channel_id, message_ts FROM deliveries "
            "WHERE channel_id IS NOT NULL AND message_ts IS NOT NULL"
        )
    ).all()
    key = _key(len(addressed))
    if key is not None:
        seal = AddressSeal(key)
        for row in addressed:
            connection.execute(
                sa.text("UPDATE deliveries SET message_key = :mk, message_ref = :ref WHERE id = :id"),
                {
                    "id": row.id,
                    "mk": keyed_hash("message", f"{row.platform}:{row.channel_id}:{row.message_ts}", key=key),
                    "ref": seal.seal(f"{row.channel_id} {row.message_ts}"),
                },
            )
    # Rows never sent have no address to send to: the next prompt run fills it in.
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("period", existing_type=sa.String(10), nullable=False)
        batch.alter_column("round_id", existing_type=sa.Integer(), nullable=True)
        batch.drop_index("ix_deliveries_message")
        batch.drop_constraint("uq_deliveries_round_id_platform_recipient", type_="unique")
        batch.drop_column("channel_id")
        batch.drop_column("message_ts")
        batch.create_unique_constraint(
            "uq_deliveries_period_kind_platform_recipient_seq",
            ["period", "kind", "platform", "recipient", "seq"],
        )
        batch.create_unique_constraint("uq_deliveries_message_key", ["message_key"])
        batch.create_index("ix_deliveries_due", ["status", "next_attempt_at"])

    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("ran_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", "key", name=op.f("pk_job_runs")),
    )
    op.create_table(
        "person_settings",
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("language", sa.String(2), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_person_settings")),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("heartbeat_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    from trustbot.core.legacy import FernetSeal as AddressSeal

    op.drop_table("leases")
    op.drop_table("person_settings")
    op.drop_table("job_runs")
    connection = op.get_bind()
    # The old schema knows prompts only.
    connection.execute(sa.text("DELETE FROM deliveries WHERE kind != 'prompt' OR round_id IS NULL"))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("channel_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("message_ts", sa.String(32), nullable=True))
    sealed = connection.execute(
        sa.text("SELECT id, message_ref FROM deliveries WHERE message_ref IS NOT NULL")
    ).all()
    key = _key(len(sealed))
    if key is not None:
        seal = AddressSeal(key)
        for row in sealed:
            channel, _, ts = seal.open(row.message_ref).partition(" ")
            connection.execute(
                sa.text("UPDATE deliveries SET channel_id = :c, message_ts = :t WHERE id = :id"),
                {"id": row.id, "c": channel, "t": ts},
            )
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_due")
        batch.drop_constraint("uq_deliveries_message_key", type_="unique")
        batch.drop_constraint("uq_deliveries_period_kind_platform_recipient_seq", type_="unique")
        for column in (
            "claimed_until",
            "claimed_by",
            "next_attempt_at",
            "message_ref",
            "message_key",
            "address",
            "seq",
            "period",
            "kind",
        ):
            batch.drop_column(column)
        batch.alter_column("round_id", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint(
            "uq_deliveries_round_id_platform_recipient", ["round_id", "platform", "recipient"]
        )
        batch.create_index(
            "ix_deliveries_message", ["platform", "channel_id", "message_ts"], unique=True
        )
    connection.execute(sa.text("DELETE FROM rounds WHERE kind != 'pulse'"))
    with op.batch_alter_table("rounds") as batch:
        batch.drop_constraint("uq_rounds_period_kind", type_="unique")
        batch.create_unique_constraint("uq_rounds_period", ["period"])
        batch.drop_column("closed_at")
        batch.drop_column("kind")
