"""The tables: rules, rounds, deliveries, pulse answers, anecdotes, reactions.

No table holds a raw platform user id next to an answer, nor one value that joins two tables'
rows about a person: each table has its own keyed handle per round (core/privacy.py), a story's
author is sealed with a random nonce, and ids are random or natural keys, never a sequence
(docs/privacy.md, "What is stored"). The one user id stored is that of an anecdote its author
chose to share with their name.

SQLite gives every table a hidden rowid in insertion order unless its primary key is an INTEGER
(the rowid itself) or the table is WITHOUT ROWID: person tables are one or the other.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false, true

from trustbot.db.base import Base, UtcDateTime
from trustbot.kinds import Visibility

PSEUDONYM_LENGTH = 64
# A random 63-bit id (core.privacy.random_id). INTEGER on SQLite, so that it is the rowid itself
# (a BIGINT primary key would leave a hidden rowid counting insertions).
RandomId = BigInteger().with_variant(Integer(), "sqlite")
# SQLite: no hidden rowid (the table is stored in primary key order).
WITHOUT_ROWID = {"sqlite_with_rowid": False}


def _enum(kind: type[enum.StrEnum]) -> Enum:
    """Store an enum by its value in a plain string column, the same on every backend."""
    return Enum(
        kind,
        native_enum=False,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


class DeliveryStatus(enum.StrEnum):
    """Where one outbox message stands."""

    PENDING = "pending"  # waiting until next_attempt_at
    SENDING = "sending"  # claimed by a sender (claimed_by) until claimed_until
    SENT = "sent"
    FAILED = "failed"  # given up: a permanent refusal, or too many attempts (last_error says)
    SKIPPED = "skipped"  # not sent on purpose: the person paused prompts, or the round closed


class DeliveryKind(enum.StrEnum):
    """What an outbox message is."""

    PROMPT = "prompt"  # the week's rule to one person; clicks in it are answers
    REMINDER = "reminder"  # a nudge to someone who has not answered the open round
    DIGEST = "digest"  # the period's report to a leadership channel


class InstallationSetting(Base):
    """Facts about this installation that must not change silently (the key fingerprint)."""

    __tablename__ = "installation"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RuleRow(Base):
    """One version of a culture rule; a changed text is a new row, so old rounds keep theirs."""

    __tablename__ = "rules"
    __table_args__ = (UniqueConstraint("position", "text_da", "text_en"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    text_da: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Round(Base):
    """The prompt of one rule in one period; open until the period ends (`closed_at` set)."""

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("period", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(16), server_default="pulse")
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    rule: Mapped[RuleRow] = relationship(lazy="joined")


class Delivery(Base):
    """One outbox message: a prompt or reminder to a person, or a digest to a channel.

    Rows are written when a round opens (or a reminder or digest run starts) and drained by the
    sender. No row holds a user id or channel id in the clear: `address` is sealed (encrypted
    under a key derived from the pseudonym key), and a sent prompt is found again by
    `message_key`, a keyed hash of its channel and ts. `recipient` is the person's delivery
    handle for the round (equal on their prompt and reminders, on nothing else); `id` is random.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("period", "kind", "platform", "recipient", "seq"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        # A round's sent prompts (reports, aggregates): with round_id alone, SQLite would rather
        # read every sent delivery through ix_deliveries_due when asked for several rounds.
        Index("ix_deliveries_round_kind_status", "round_id", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(RandomId, primary_key=True, autoincrement=False)
    kind: Mapped[DeliveryKind] = mapped_column(_enum(DeliveryKind))
    period: Mapped[str] = mapped_column(String(10))
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    # A person's delivery handle for the round, or for a digest a keyed hash of the channel.
    recipient: Mapped[str] = mapped_column(String(PSEUDONYM_LENGTH))
    seq: Mapped[int] = mapped_column(Integer, server_default="0")  # the reminder's number
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus))
    address: Mapped[str | None] = mapped_column(Text)  # sealed user id / channel id
    team: Mapped[str | None] = mapped_column(String(64))  # the person's team when queued
    message_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    message_ref: Mapped[str | None] = mapped_column(Text)  # sealed "channel ts" of a sent prompt
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PulseAnswer(Base):
    """One person's 1-5 score for one round; answering again replaces the score.

    `respondent` is the person's answer handle for this round: it differs from round to round
    and from their delivery, so no stored value joins an answer to a person, a delivery or
    another week's answer. `team` is copied from the delivery when the answer is written, so a
    round's figures per team need no join. No id: the primary key is (round, respondent), and
    on SQLite there is no rowid either.

    It carries no wall-clock time: `acted_us` orders clicks while the round is open and is
    reset to 0 when the round closes, so no time can tie an answer to anything else.
    """

    __tablename__ = "pulse_answers"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        WITHOUT_ROWID,
    )

    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    respondent: Mapped[str] = mapped_column(String(PSEUDONYM_LENGTH), primary_key=True)
    team: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[int] = mapped_column(Integer)
    # When the person acted (the platform's action time, microseconds since the epoch): a click
    # replaces the stored score only when it was made later, whatever order requests arrive in.
    acted_us: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # How many times the score was replaced; 0 tells the first answer apart.
    revision: Mapped[int] = mapped_column(Integer, server_default="0")


class Anecdote(Base):
    """A short story of a rule being lived.

    Nothing here joins a story to its author's answers or to their other stories: `author_ref`
    is the author's pseudonym sealed with AES-GCM and a random nonce (core.privacy.AuthorSeal),
    a different value on every story, opened only by `trustbot forget`; `id` is random; there is
    no timestamp beyond the round. Only a story shared with a name holds the author's user id,
    by their choice (CHECK constraint).
    """

    __tablename__ = "anecdotes"
    __table_args__ = (
        CheckConstraint(
            "(visibility = 'named') = (author_user_id IS NOT NULL)", name="name_only_when_named"
        ),
        CheckConstraint(
            "author_name IS NULL OR visibility = 'named'", name="display_name_only_when_named"
        ),
    )

    id: Mapped[int] = mapped_column(RandomId, primary_key=True, autoincrement=False)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    author_ref: Mapped[str] = mapped_column(String(200))
    author_user_id: Mapped[str | None] = mapped_column(String(64))
    # The author's display name as their platform gave it, kept only for a named story.
    author_name: Mapped[str | None] = mapped_column(String(200))
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility))
    text: Mapped[str] = mapped_column(Text)
    # The platform's id of the submission (Slack view id), so a re-sent submission is stored
    # once; cleared when the round closes.
    source_id: Mapped[str | None] = mapped_column(String(64), unique=True)


class Reaction(Base):
    """An emoji reaction by one person on their prompt (or a reminder) of one round.

    `reactor` is the person's reaction handle for the round; `team` is copied from the
    delivery. A removed reaction stays as a row with `present` false, so that a retried or late
    `reaction_added` older than the removal (`event_us`, reset to 0 at close) cannot count it
    again.
    """

    __tablename__ = "reactions"
    __table_args__ = (WITHOUT_ROWID,)

    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    reactor: Mapped[str] = mapped_column(String(PSEUDONYM_LENGTH), primary_key=True)
    emoji: Mapped[str] = mapped_column(String(100), primary_key=True)
    team: Mapped[str | None] = mapped_column(String(64))
    present: Mapped[bool] = mapped_column(Boolean, server_default=true())
    event_us: Mapped[int] = mapped_column(BigInteger, server_default="0")


class JobRun(Base):
    """A scheduled job that ran for a key (a period, a round's reminder number): once only.

    The marker is written in the same transaction as the job's effect, so a job caught up after
    downtime, or fired by two processes, takes effect once.
    """

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PersonSetting(Base):
    """A person's own choices: prompts paused, language.

    Keyed by a keyed hash made for this purpose, not by anything answers carry, so the table
    cannot be joined to anyone's scores; `updated_at` keeps the day only.
    """

    __tablename__ = "person_settings"
    __table_args__ = (WITHOUT_ROWID,)

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, server_default=false())
    language: Mapped[str | None] = mapped_column(String(2))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Lease(Base):
    """Who holds a role among several processes (the scheduler leader), for `trustbot status`."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RoundAggregate(Base):
    """A closed round's figures, per team ('' is the whole round): what reports read.

    Written once when the round closes, from the raw rows; raw answers older than
    TRUSTBOT_RETENTION_WEEKS are then purged while these stay. Counts only: the anonymity
    threshold is applied when a report is built, so it can follow the setting.
    """

    __tablename__ = "round_aggregates"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    team: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    score_sum: Mapped[int] = mapped_column(Integer)
    n1: Mapped[int] = mapped_column(Integer)
    n2: Mapped[int] = mapped_column(Integer)
    n3: Mapped[int] = mapped_column(Integer)
    n4: Mapped[int] = mapped_column(Integer)
    n5: Mapped[int] = mapped_column(Integer)
    reactions: Mapped[int] = mapped_column(Integer)
    stories_shared: Mapped[int] = mapped_column(Integer)
    stories_private: Mapped[int] = mapped_column(Integer)


class TeamsConversation(Base):
    """Where trustbot can reach a Teams user or conversation proactively.

    Stored when the app is installed (conversationUpdate / installationUpdate) or first
    messaged, not in the SDK's memory, so prompts, reminders and digests survive restarts and
    reach any replica. `key` is a keyed hash (of the person's Entra object id, or of the
    conversation id); `reference` (conversation id, service URL, tenant, user) is sealed;
    `updated_at` keeps the day only.
    """

    __tablename__ = "teams_conversations"
    __table_args__ = (WITHOUT_ROWID,)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "personal" or "channel"
    reference: Mapped[str] = mapped_column(Text)
    installed: Mapped[bool] = mapped_column(Boolean, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
