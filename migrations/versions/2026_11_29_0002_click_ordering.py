"""click ordering: when each answer and reaction was made, reactions kept as tombstones

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing answers and reactions get time 0: any new click or reaction is later.
    with op.batch_alter_table("pulse_answers") as batch:
        batch.add_column(sa.Column("acted_us", sa.BigInteger(), server_default="0", nullable=False))
        batch.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("reactions") as batch:
        batch.add_column(sa.Column("present", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column("event_us", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM reactions WHERE NOT present"))
    with op.batch_alter_table("reactions") as batch:
        batch.drop_column("event_us")
        batch.drop_column("present")
    with op.batch_alter_table("pulse_answers") as batch:
        batch.drop_column("revision")
        batch.drop_column("acted_us")
