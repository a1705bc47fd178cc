"""deliveries: an index on (round_id, kind, status) for a round's sent prompts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

A report counts the open rounds' sent prompts (`round_id IN (...) AND kind = 'prompt' AND
status = 'sent'`). With more than one open round, SQLite (no statistics unless ANALYZE runs)
chose the outbox's (status, next_attempt_at) index and read every sent delivery of every round:
0.7 s at 10,000 people x 100 weeks instead of 30 ms. An index with all three columns is the
one it picks. The round_id index stays: PostgreSQL prices a multi-column index's correlation
lower and keeps using the single-column one where it joins deliveries to rounds.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deliveries_round_kind_status", "deliveries", ["round_id", "kind", "status"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_round_kind_status", table_name="deliveries")
