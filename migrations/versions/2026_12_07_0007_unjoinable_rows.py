"""unjoinable rows: per-table handles, sealed story authors, random ids, AES-GCM seals

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

Before, one pseudonym P was `pulse_answers.respondent`, `deliveries.recipient` and
`reactions.reactor` alike, stories of one person in one round shared `author_key`, ids counted
insertions (first-click order, audience order), and every sealed value (Fernet) carried the time
it was sealed. A reader of the database without the key could join a story to its author's
other stories and an answer to a delivery and its team. Now (docs/privacy.md, decision 35):

* answers carry `HMAC(key, "answer:<P>:<round>")`, deliveries `HMAC(key, "delivery:<P>:<round>")`,
  reactions `HMAC(key, "reaction:<P>:<round>")`, answers and reactions the delivery's team;
* a story's author is P sealed with AES-GCM and a random nonce; the old author key
  `HMAC(key, "story:<P>:<round>")` cannot be inverted, so it is recomputed for every candidate P
  of the round (its deliveries' recipients and its answers' respondents) and matched;
* deliveries and stories get random ids, answers and reactions none (natural primary keys,
  WITHOUT ROWID on SQLite, like person_settings and teams_conversations);
* addresses, message references and Teams references are re-sealed with AES-GCM;
* closed rounds keep no click time, claim or source id; settings and Teams references keep the
  day they changed; a reminder withdrawn because its recipient answered is deleted.

Every table is rebuilt and its rows written in an order that depends only on the new keys.
The pseudonym key is needed (`trustbot migrate` passes TRUSTBOT_PSEUDONYM_KEY) when any row
must be re-keyed.
"""

from __future__ import annotations

import hmac
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
RANDOM_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REKEYED = ("deliveries", "pulse_answers", "anecdotes", "reactions")
BATCH = 1000


def _key(rows: int) -> str:
    from trustbot.db.migrate import MigrationNeedsKeyError

    key = context.config.attributes.get("pseudonym_key")
    if rows and not key:
        raise MigrationNeedsKeyError(
            f"TRUSTBOT_PSEUDONYM_KEY: needed to migrate {rows} rows to per-table handles; "
            "set it and run `trustbot migrate` again"
        )
    return str(key or "")


def _count(connection: sa.Connection, tables: Iterable[str]) -> int:
    return sum(
        int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() or 0)  # noqa: S608
        for table in tables
    )


def _set_aside(connection: sa.Connection, table: str) -> str:
    """Rename `table` to `<table>_old`, its indexes dropped and its constraints renamed, so
    that the new table can take every name."""
    old = f"{table}_old"
    inspector = sa.inspect(connection)
    for index in inspector.get_indexes(table):
        if index["name"] and index["name"].startswith("ix_"):
            op.drop_index(index["name"], table_name=table)
    op.rename_table(table, old)
    if connection.dialect.name == "postgresql":
        names = [inspector.get_pk_constraint(table)["name"]]
        names += [unique["name"] for unique in inspector.get_unique_constraints(table)]
        for name in names:
            if name:
                op.execute(sa.text(f'ALTER TABLE {old} RENAME CONSTRAINT "{name}" TO "{name}_old"'))
    return old


def _reflect(connection: sa.Connection, name: str) -> sa.Table:
    """A table as it is in the database (its timestamps read as datetimes on SQLite too)."""
    return sa.Table(name, sa.MetaData(), autoload_with=connection)


def _rows(
    connection: sa.Connection, table: sa.Table, *where: Any, order: Iterable[Any] = ()
) -> list[dict[str, Any]]:
    query = sa.select(table).where(*where).order_by(*order)
    return [dict(row) for row in connection.execute(query).mappings()]


def _random_id() -> int:
    return secrets.randbits(63) or 1


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _round_column(*, primary_key: bool = False, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(
        "round_id",
        sa.Integer(),
        sa.ForeignKey("rounds.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=nullable,
        index=not primary_key,
    )


def _delivery_parts() -> list[Any]:
    """The columns, constraint and indexes deliveries have before and after 0007."""
    return [
        _round_column(nullable=True),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("team", sa.String(64), nullable=True),
        sa.Column("message_key", sa.String(64), nullable=True, unique=True),
        sa.Column("message_ref", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", TIMESTAMP, nullable=True),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.UniqueConstraint("period", "kind", "platform", "recipient", "seq"),
        sa.Index("ix_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_deliveries_round_kind_status", "round_id", "kind", "status"),
    ]


def _story_parts() -> list[Any]:
    """The columns and constraints anecdotes have before and after 0007 (but the author's)."""
    return [
        _round_column(),
        sa.Column("rule_id", sa.Integer(), sa.ForeignKey("rules.id"), nullable=False),
        sa.Column("author_user_id", sa.String(64), nullable=True),
        sa.Column("author_name", sa.String(200), nullable=True),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=True, unique=True),
        sa.CheckConstraint(
            "(visibility = 'named') = (author_user_id IS NOT NULL)", name="name_only_when_named"
        ),
        sa.CheckConstraint(
            "author_name IS NULL OR visibility = 'named'", name="display_name_only_when_named"
        ),
    ]


def _answer_parts() -> list[Any]:
    return [
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("acted_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("revision", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
    ]


def _reaction_parts() -> list[Any]:
    return [
        sa.Column("present", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("event_us", sa.BigInteger(), server_default="0", nullable=False),
    ]


def _new_tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    """The four tables as 0007 makes them (db/models.py)."""
    without_rowid = {"sqlite_with_rowid": False}
    return {
        "deliveries": sa.Table(
            "deliveries",
            metadata,
            sa.Column("id", RANDOM_ID, primary_key=True, autoincrement=False),
            sa.Column("kind", sa.String(16), nullable=False),
            *_delivery_parts(),
        ),
        "pulse_answers": sa.Table(
            "pulse_answers",
            metadata,
            _round_column(primary_key=True),
            sa.Column("respondent", sa.String(64), primary_key=True),
            sa.Column("team", sa.String(64), nullable=True),
            *_answer_parts(),
            **without_rowid,
        ),
        "anecdotes": sa.Table(
            "anecdotes",
            metadata,
            sa.Column("id", RANDOM_ID, primary_key=True, autoincrement=False),
            sa.Column("author_ref", sa.String(200), nullable=False),
            *_story_parts(),
        ),
        "reactions": sa.Table(
            "reactions",
            metadata,
            _round_column(primary_key=True),
            sa.Column("reactor", sa.String(64), primary_key=True),
            sa.Column("emoji", sa.String(100), primary_key=True),
            sa.Column("team", sa.String(64), nullable=True),
            *_reaction_parts(),
            **without_rowid,
        ),
    }


def _metadata() -> sa.MetaData:
    from trustbot.db.base import NAMING_CONVENTION

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    sa.Table("rounds", metadata, sa.Column("id", sa.Integer(), primary_key=True))
    sa.Table("rules", metadata, sa.Column("id", sa.Integer(), primary_key=True))
    return metadata


def _insert(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        connection.execute(table.insert(), rows[start : start + BATCH])


class _Rekey:
    """The old-to-new mapping of one round, computed with the key."""

    def __init__(self, key: str) -> None:
        from trustbot.core.privacy import AddressSeal, AuthorSeal, round_handle
        from trustbot.core.legacy import FernetSeal

        self.key = key
        self.round_handle = round_handle
        self.old_seal = FernetSeal(key) if key else None
        self.new_seal = AddressSeal(key) if key else None
        self.author_seal = AuthorSeal(key) if key else None

    def reseal(self, value: str | None) -> str | None:
        if value is None or self.old_seal is None or self.new_seal is None:
            return value
        from trustbot.core.privacy import SealError

        try:
            return self.new_seal.seal(self.old_seal.open(value))
        except SealError:  # sealed under another key: no one can open it now either
            return None

    def handle(self, purpose: str, person: str, round_id: int) -> str:
        return self.round_handle(purpose, person, round_id, key=self.key)


def upgrade() -> None:
    connection = op.get_bind()
    key = _key(_count(connection, (*REKEYED, "teams_conversations")))
    rekey = _Rekey(key)
    closed = {
        round_id: closed_at is not None
        for round_id, closed_at in connection.execute(sa.text("SELECT id, closed_at FROM rounds"))
    }
    # Children first: reactions refer to deliveries.
    names = {table: _set_aside(connection, table) for table in reversed(REKEYED)}
    old = {table: _reflect(connection, name) for table, name in names.items()}
    new = _new_tables(_metadata())
    for table in REKEYED:
        new[table].create(connection)

    _migrate_digests(connection, rekey, old["deliveries"], new["deliveries"])
    for round_id, is_closed in sorted(closed.items()):
        _migrate_round(connection, rekey, old, new, round_id, closed=is_closed)
    for table in reversed(REKEYED):  # reactions first: they refer to deliveries
        op.drop_table(names[table])

    _rebuild_keyed_by_day(connection, rekey)


def _delivery_values(row: dict[str, Any]) -> dict[str, Any]:
    """An old delivery row's values the new table has (no created_at, no sequence id)."""
    row.pop("created_at", None)
    row["id"] = _random_id()
    return row


def _migrate_digests(
    connection: sa.Connection, rekey: _Rekey, old: sa.Table, new: sa.Table
) -> None:
    out = []
    for row in _rows(connection, old, old.c.round_id.is_(None)):
        moved = _delivery_values(row)
        moved["address"] = rekey.reseal(row["address"])
        out.append(moved)
    _insert(connection, new, sorted(out, key=lambda row: row["id"]))


def _migrate_round(
    connection: sa.Connection,
    rekey: _Rekey,
    old: dict[str, sa.Table],
    new: dict[str, sa.Table],
    round_id: int,
    *,
    closed: bool,
) -> None:
    def of_round(table: str) -> list[dict[str, Any]]:
        return _rows(connection, old[table], old[table].c.round_id == round_id)

    deliveries = of_round("deliveries")
    team_of: dict[str, str | None] = {}
    person_of_delivery: dict[int, str] = {}
    team_of_delivery: dict[int, str | None] = {}
    out: list[dict[str, Any]] = []
    for row in deliveries:
        person = row["recipient"]
        person_of_delivery[row["id"]] = person
        team_of_delivery[row["id"]] = row["team"]
        if row["kind"] == "prompt":
            team_of[person] = row["team"]
        if row["kind"] == "reminder" and row["last_error"] == "answered":
            continue  # a withdrawn reminder would say its recipient answered
        moved = {
            **_delivery_values(dict(row)),
            "recipient": rekey.handle("delivery", person, round_id),
            "address": rekey.reseal(row["address"]),
            "message_ref": rekey.reseal(row["message_ref"]),
        }
        if closed:
            moved.update(next_attempt_at=None, claimed_by=None, claimed_until=None)
        out.append(moved)
    _insert(connection, new["deliveries"], sorted(out, key=lambda r: (r["recipient"], r["seq"])))

    answers = of_round("pulse_answers")
    candidates = set(team_of)
    out = []
    for row in answers:
        person = row["respondent"]
        candidates.add(person)
        out.append(
            {
                "round_id": round_id,
                "respondent": rekey.handle("answer", person, round_id),
                "team": team_of.get(person),
                "score": row["score"],
                "acted_us": 0 if closed else row["acted_us"],
                "revision": row["revision"],
            }
        )
    _insert(connection, new["pulse_answers"], sorted(out, key=lambda r: r["respondent"]))

    reactions = of_round("reactions")
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for row in reactions:
        person = row["reactor"]
        handle = rekey.handle("reaction", person, round_id)
        seen = merged.get((handle, row["emoji"]))
        if seen is not None and seen["event_us"] >= row["event_us"]:
            continue  # the same emoji on the prompt and a reminder: the later event counts
        merged[handle, row["emoji"]] = {
            "round_id": round_id,
            "reactor": handle,
            "emoji": row["emoji"],
            "team": team_of.get(person, team_of_delivery.get(row["delivery_id"])),
            "present": row["present"],
            "event_us": row["event_us"],
        }
    if closed:
        for row in merged.values():
            row["event_us"] = 0
    _insert(connection, new["reactions"], [merged[k] for k in sorted(merged)])

    stories = of_round("anecdotes")
    authors = {
        rekey.handle("story", person, round_id): person for person in sorted(candidates)
    }
    out = []
    for story in stories:
        author_key = story.pop("author_key")
        person = next(
            (p for h, p in authors.items() if hmac.compare_digest(h, author_key)),
            None,
        )
        # An author no candidate matches cannot be found by `forget` (except by name):
        # a sealed random value keeps the column's look.
        sealed = person if person is not None else secrets.token_hex(32)
        story["author_ref"] = rekey.author_seal.seal(sealed) if rekey.author_seal else sealed
        story["id"] = _random_id()
        if closed:
            story["source_id"] = None
        out.append(story)
    _insert(connection, new["anecdotes"], sorted(out, key=lambda r: r["id"]))


def _rebuild_keyed_by_day(connection: sa.Connection, rekey: _Rekey) -> None:
    """person_settings and teams_conversations: WITHOUT ROWID on SQLite, the day only, and
    Teams references re-sealed."""
    for name, key_column in (("person_settings", "subject"), ("teams_conversations", "key")):
        if connection.dialect.name == "sqlite":
            with op.batch_alter_table(
                name, recreate="always", table_kwargs={"sqlite_with_rowid": False}
            ):
                pass
        table = _reflect(connection, name)
        for row in _rows(connection, table):
            values: dict[str, Any] = {"updated_at": _day(row["updated_at"])}
            if name == "teams_conversations":
                values["reference"] = rekey.reseal(row["reference"]) or ""
            connection.execute(
                table.update().where(table.c[key_column] == row[key_column]).values(**values)
            )


def downgrade() -> None:
    """Back to one pseudonym per person: each delivery's sealed address gives its P, and each
    answer, reaction and story handle is matched against the round's Ps. Rows whose person no
    delivery names keep their handle (they stay readable; they no longer join)."""
    from trustbot.core.privacy import SealError, pseudonym

    connection = op.get_bind()
    key = _key(_count(connection, (*REKEYED, "teams_conversations")))
    rekey = _Rekey(key)
    old_seal, new_seal = rekey.old_seal, rekey.new_seal

    def unseal(value: str | None) -> str | None:
        if value is None or old_seal is None or new_seal is None:
            return value
        try:
            return old_seal.seal(new_seal.open(value))
        except SealError:
            return None

    names = {table: _set_aside(connection, table) for table in reversed(REKEYED)}
    current = {table: _reflect(connection, name) for table, name in names.items()}
    old = _old_tables(_metadata())
    for table in REKEYED:
        old[table].create(connection)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    delivery_ids: dict[tuple[int, str], int] = {}
    persons: dict[int, dict[str, str]] = defaultdict(dict)  # round -> handle -> P
    table = current["deliveries"]
    for row in _rows(connection, table, order=(table.c.round_id, table.c.recipient, table.c.seq)):
        recipient, round_id = row["recipient"], row["round_id"]
        if round_id is not None and new_seal is not None and row["address"]:
            try:
                user_id = new_seal.open(row["address"])
            except SealError:
                user_id = None
            if user_id is not None:
                recipient = pseudonym(user_id, key=key, platform=row["platform"])
                for purpose in ("delivery", "answer", "reaction"):
                    persons[round_id][rekey.handle(purpose, recipient, round_id)] = recipient
        row.pop("id")
        row.update(
            recipient=recipient,
            address=unseal(row["address"]),
            message_ref=unseal(row["message_ref"]),
            created_at=row["sent_at"] or epoch,
        )
        inserted = connection.execute(old["deliveries"].insert().values(**row))
        if round_id is not None and row["seq"] == 0:
            delivery_ids[round_id, recipient] = int(inserted.inserted_primary_key[0])
    rounds = [r for (r,) in connection.execute(sa.text("SELECT id FROM rounds ORDER BY id"))]
    for round_id in rounds:
        known = persons.get(round_id, {})
        table = current["pulse_answers"]
        answers = [
            {**row, "respondent": known.get(row["respondent"], row["respondent"])}
            for row in _rows(connection, table, table.c.round_id == round_id)
        ]
        for row in answers:
            row.pop("team")
        _insert(connection, old["pulse_answers"], answers)
        table = current["reactions"]
        reactions = []
        for row in _rows(connection, table, table.c.round_id == round_id):
            person = known.get(row["reactor"], row["reactor"])
            delivery = delivery_ids.get((round_id, person))
            if delivery is None:
                continue  # the old schema needs the delivery the reaction was on
            row.pop("team")
            reactions.append({**row, "reactor": person, "delivery_id": delivery, "created_at": epoch})
        _insert(connection, old["reactions"], reactions)
        table = current["anecdotes"]
        stories = []
        for row in _rows(connection, table, table.c.round_id == round_id):
            row.pop("id")
            author_ref = row.pop("author_ref")
            try:
                person = rekey.author_seal.open(author_ref) if rekey.author_seal else author_ref
            except SealError:
                person = author_ref
            stories.append({**row, "author_key": rekey.handle("story", person, round_id)})
        _insert(connection, old["anecdotes"], stories)
    for table_name in reversed(REKEYED):
        op.drop_table(names[table_name])
    teams = _reflect(connection, "teams_conversations")
    for row in _rows(connection, teams):
        connection.execute(
            teams.update()
            .where(teams.c.key == row["key"])
            .values(reference=unseal(row["reference"]) or "")
        )


def _old_tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    """The four tables as revision 0006 had them."""
    return {
        "deliveries": sa.Table(
            "deliveries",
            metadata,
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("kind", sa.String(16), server_default="prompt", nullable=False),
            sa.Column("created_at", TIMESTAMP, nullable=False),
            *_delivery_parts(),
        ),
        "pulse_answers": sa.Table(
            "pulse_answers",
            metadata,
            sa.Column("id", sa.Integer(), primary_key=True),
            _round_column(),
            sa.Column("respondent", sa.String(64), nullable=False),
            *_answer_parts(),
            sa.UniqueConstraint("round_id", "respondent"),
        ),
        "anecdotes": sa.Table(
            "anecdotes",
            metadata,
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("author_key", sa.String(64), nullable=False, index=True),
            *_story_parts(),
        ),
        "reactions": sa.Table(
            "reactions",
            metadata,
            sa.Column("id", sa.Integer(), primary_key=True),
            _round_column(),
            sa.Column(
                "delivery_id",
                sa.Integer(),
                sa.ForeignKey("deliveries.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("reactor", sa.String(64), nullable=False),
            sa.Column("emoji", sa.String(100), nullable=False),
            sa.Column("created_at", TIMESTAMP, nullable=False),
            *_reaction_parts(),
            sa.UniqueConstraint("delivery_id", "reactor", "emoji"),
        ),
    }
