"""The working half of bench/report.py: builds the bench database and measures the report.

bench/report.py runs each step in a fresh process of this script and reads one line of JSON
from it; the measuring process is started by a parent that imported nothing heavy, so its
`getrusage` peak RSS is its own (Linux carries a parent's peak RSS over fork and exec).

    python bench/report_worker.py prepare BACKEND PEOPLE WEEKS OPEN_ROUNDS [--keep]
        --postgres-url URL --data-dir DIR
    python bench/report_worker.py measure URL RUNS
    python bench/report_worker.py drop POSTGRES_URL PEOPLE WEEKS OPEN_ROUNDS
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
from sqlalchemy import Table, TextClause, bindparam, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from trustbot.config import Settings, load_settings
from trustbot.core.aggregates import NO_TEAM, finalize_closed_rounds
from trustbot.core.periods import period_start, recent_periods
from trustbot.core.privacy import Keys, random_id
from trustbot.core.reports import (
    DEFAULT_WEEKS,
    ReportRequest,
    TrustReport,
    current_trust_report,
)
from trustbot.core.rounds import close_ended_rounds, open_round
from trustbot.core.rules import load_rules
from trustbot.core.services import Services
from trustbot.db.database import Database
from trustbot.db.migrate import upgrade_to_head
from trustbot.db.models import (
    Anecdote,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    InstallationSetting,
    PulseAnswer,
    Reaction,
    Round,
    RuleRow,
)
from trustbot.db.session import create_engine
from trustbot.kinds import Visibility

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # a Thursday: 2026-W48 in Copenhagen, open
KEY = "bench-report-pseudonym-key-0123456789abcdef0123"
SEED = 20261126
DATASET = "bench_report_dataset"  # the installation row naming a complete build
DATASET_VERSION = 2
# Teams and their share of the people; the rest are in no configured team. "Board" is tiny on
# purpose: its figures are below the threshold most weeks and others get hidden to protect it.
TEAMS = (
    ("Engineering", 0.30),
    ("Sales", 0.18),
    ("Support", 0.15),
    ("Operations", 0.12),
    ("Marketing", 0.08),
    ("Finance", 0.05),
    ("People", 0.03),
    ("Legal", 0.015),
    ("Board", 0.0006),
)
TEAM_MOVES = 0.003  # share of people who change team in a week
STORIES_PER_PERSON_WEEK = 0.05
REACTION_SHARE = 0.04
EMOJI = ("+1", "heart", "tada", "raised_hands", "clap", "thinking_face", "fire")
STORY_PARTS = (
    "Our team lead asked everyone for ideas before deciding on the release plan",
    "A colleague took over my customer call when my child got sick, no questions asked",
    "We tried a new way to run the stand-up and kept it because it saves twenty minutes",
    "Support and Sales sat together for a day and fixed three long-standing issues",
    "I was trusted to choose the supplier myself and it worked out well",
    "The whole floor laughed at the Friday demo and the energy lasted all week",
    "Someone admitted a mistake in the all-hands and we learned from it together",
    "We shipped a small fix in an afternoon instead of waiting for the next quarter",
)


@dataclass(frozen=True, slots=True)
class Person:
    """One employee of the simulated company."""

    user_id: str
    pseudonym: str
    bias: float  # how much more (or less) favourable they answer than their team
    eagerness: float  # how much more (or less) often they answer than the week's average
    address: str  # their sealed user id
    message_ref: str  # a sealed "channel ts", the size the outbox stores


class Size(NamedTuple):
    """What a bench database holds."""

    people: int
    weeks: int
    open_rounds: int


# --- building the database ------------------------------------------------------------------


def settings_for(url: str) -> Settings:
    """The bot's settings over the bench database (no .env, a fixed key, English)."""
    teams = ",".join(f"{name}=S{index:08d}" for index, (name, _) in enumerate(TEAMS))
    return load_settings(
        _env_file=None,
        TRUSTBOT_DATABASE_URL=url,
        TRUSTBOT_PSEUDONYM_KEY=KEY,
        TRUSTBOT_LANGUAGE="en",
        TRUSTBOT_TIMEZONE="Europe/Copenhagen",
        TRUSTBOT_TEAMS=teams,
    )


def services_for(url: str, engine: AsyncEngine) -> Services:
    """The core's services, built as `trustbot.app.open_services` does, without importing
    the Slack and Teams stacks the report does not need (they would only add to the RSS)."""
    settings = settings_for(url)
    return Services(
        settings=settings,
        database=Database(engine),
        keys=Keys(KEY),
        rules=load_rules(settings.rules_file),
        clock=lambda: NOW,
    )


def dataset_name(people: int, weeks: int, open_rounds: int) -> str:
    """What a complete build records, so that --keep reuses only a matching one."""
    return f"v{DATASET_VERSION} people={people} weeks={weeks} open={open_rounds} seed={SEED}"


async def stored_dataset(engine: AsyncEngine) -> str | None:
    """The dataset a previous build completed in this database, if any."""
    try:
        async with engine.connect() as connection:
            value = await connection.scalar(
                select(InstallationSetting.value).where(InstallationSetting.name == DATASET)
            )
    except SQLAlchemyError:  # no such table yet: a new database
        return None
    return None if value is None else str(value)


def _monday(period: str, hour: int) -> datetime:
    return datetime.combine(period_start(period), clock_time(hour), tzinfo=UTC)


def _people(services: Services, count: int, rng: random.Random) -> list[Person]:
    people = []
    for index in range(count):
        user_id = f"U{index:09d}"
        people.append(
            Person(
                user_id=user_id,
                pseudonym=services.keys.pseudonym(user_id, "slack"),
                bias=rng.gauss(0.0, 0.55),
                eagerness=rng.uniform(-0.3, 0.3),
                address=services.keys.seal.seal(user_id),
                message_ref=services.keys.seal.seal(f"D{index:09d} 1764147600.{index:06d}"),
            )
        )
    return people


def _pick_team(rng: random.Random) -> str | None:
    draw = rng.random()
    for name, share in TEAMS:
        if draw < share:
            return name
        draw -= share
    return None


class Filler:
    """Bulk writes into the models' tables: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, url: str, engine: AsyncEngine) -> None:
        self.url = url
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self._pg: psycopg.Connection[Any] | None = None

    def __enter__(self) -> Filler:
        if self.postgres:
            conninfo = make_url(self.url).set(drivername="postgresql")
            self._pg = psycopg.connect(conninfo.render_as_string(hide_password=False))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pg is not None:
            if exc[0] is None:
                self._pg.commit()
            self._pg.close()

    async def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Append `rows` (column name -> value, as the model's Python types) to `table`."""
        if not rows:
            return
        columns = list(rows[0])
        unknown = set(columns) - set(table.c.keys())
        if unknown:
            raise ValueError(f"{table.name} has no column {sorted(unknown)}")
        if self._pg is not None:
            names = ", ".join(columns)
            with (
                self._pg.cursor() as cursor,
                cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row([row[column] for column in columns])
            return
        # SQLAlchemy applies the columns' types (timestamps, enums) and runs executemany.
        async with self.engine.begin() as connection:
            await connection.execute(table.insert(), rows)

    async def finish(self) -> None:
        """Commit, and move the sequences past the ids written explicitly."""
        if self._pg is not None:
            self._pg.execute(
                "SELECT setval(pg_get_serial_sequence('deliveries', 'id'), "
                "(SELECT max(id) FROM deliveries))"
            )
            self._pg.commit()


async def build(url: str, people_count: int, weeks: int, open_rounds: int) -> None:
    """Migrate an empty database and fill it; the last `open_rounds` rounds stay open."""
    rng = random.Random(SEED)
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, pseudonym_key=KEY)
        services = services_for(url, engine)
        current = services.current_period()
        periods = recent_periods(current, weeks)
        round_ids: dict[str, int] = {}
        async with services.transaction() as session:
            for period in periods:
                round_, _ = await open_round(
                    session=session, rules=services.rules, period=period, now=_monday(period, 8)
                )
                await session.flush()
                round_ids[period] = round_.id
        people = _people(services, people_count, rng)
        teams = [_pick_team(rng) for _ in people]
        # Each rule's mean score drifts from week to week; each team sits a little off it.
        rule_mean = {rule.position: rng.uniform(3.2, 3.9) for rule in services.rules}
        team_shift = {name: rng.gauss(0.0, 0.25) for name, _ in TEAMS} | {None: 0.0}
        participation = rng.uniform(0.55, 0.75)
        rule_at = await _rules_asked(services)
        started = time.perf_counter()
        with Filler(url, engine) as filler:
            for number, period in enumerate(periods):
                for position in rule_mean:
                    rule_mean[position] = min(
                        4.5, max(2.2, rule_mean[position] + rng.gauss(0, 0.06))
                    )
                participation = min(0.8, max(0.5, participation + rng.gauss(0, 0.02)))
                for index in range(len(people)):
                    if rng.random() < TEAM_MOVES:
                        teams[index] = _pick_team(rng)
                is_open = period == current
                week = _week_rows(
                    services,
                    rng,
                    period=period,
                    round_id=round_ids[period],
                    people=people,
                    teams=teams,
                    mean=rule_mean[rule_at[period][0]],
                    rule_id=rule_at[period][1],
                    team_shift=team_shift,
                    participation=participation * (0.6 if is_open else 1.0),
                    stories=round(len(people) * STORIES_PER_PERSON_WEEK),
                )
                await filler.write(Delivery.__table__, week.deliveries)  # type: ignore[arg-type]
                await filler.write(PulseAnswer.__table__, week.answers)  # type: ignore[arg-type]
                await filler.write(Reaction.__table__, week.reactions)  # type: ignore[arg-type]
                await filler.write(Anecdote.__table__, week.stories)  # type: ignore[arg-type]
                if (number + 1) % 10 == 0 or number + 1 == len(periods):
                    print(
                        f"  {number + 1}/{len(periods)} weeks written "
                        f"({time.perf_counter() - started:.0f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
            await filler.finish()
        # Close the past rounds and aggregate them as the scheduler does.
        async with services.transaction() as session:
            still_open = periods[-open_rounds]  # rounds before it close
            await close_ended_rounds(session=session, current_period=still_open, now=NOW)
            await finalize_closed_rounds(session=session)
            session.add(
                InstallationSetting(
                    name=DATASET,
                    value=dataset_name(people_count, weeks, open_rounds),
                    created_at=NOW,
                )
            )
        await _settle(engine)
    finally:
        await engine.dispose()


async def _rules_asked(services: Services) -> dict[str, tuple[int, int]]:
    """Each round's rule: (position, rule row id), by period."""
    async with services.sessions() as session:
        rows = await session.execute(
            select(Round.period, RuleRow.position, RuleRow.id).join(
                RuleRow, Round.rule_id == RuleRow.id
            )
        )
        return {period: (position, rule_id) for period, position, rule_id in rows}


@dataclass(slots=True)
class WeekRows:
    """The rows of one week, ready for bulk writing."""

    deliveries: list[dict[str, Any]]
    answers: list[dict[str, Any]]
    reactions: list[dict[str, Any]]
    stories: list[dict[str, Any]]


def _week_rows(
    services: Services,
    rng: random.Random,
    *,
    period: str,
    round_id: int,
    rule_id: int,
    people: Sequence[Person],
    teams: Sequence[str | None],
    mean: float,
    team_shift: dict[str | None, float],
    participation: float,
    stories: int,
) -> WeekRows:
    queued = _monday(period, 8)
    sent_day = datetime.combine(period_start(period), clock_time(), tzinfo=UTC)
    reminded_day = sent_day + timedelta(days=2)
    acted_base = int(queued.timestamp() * 1_000_000)
    deliveries: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    reactions: list[dict[str, Any]] = []
    answered_by: list[Person] = []
    silent: list[tuple[Person, str | None]] = []
    for index, person in enumerate(people):
        team = teams[index]
        draw = rng.random()
        status = (
            DeliveryStatus.SKIPPED
            if draw < 0.015
            else DeliveryStatus.FAILED
            if draw < 0.025
            else DeliveryStatus.SENT
        )
        sent = status is DeliveryStatus.SENT
        deliveries.append(
            _delivery(
                services,
                period=period,
                round_id=round_id,
                person=person,
                team=team,
                status=status,
                kind=DeliveryKind.PROMPT,
                sent_day=sent_day if sent else None,
            )
        )
        if not sent:
            continue
        if rng.random() < participation + person.eagerness:
            score = round(mean + team_shift[team] + person.bias + rng.gauss(0.0, 0.8))
            revised = rng.random() < 0.1
            answers.append(
                {
                    "round_id": round_id,
                    "respondent": services.keys.answer_handle(person.pseudonym, round_id),
                    "team": team,
                    "score": min(5, max(1, score)),
                    "acted_us": acted_base + rng.randrange(86_400_000_000 * 4),
                    "revision": 1 if revised else 0,
                }
            )
            answered_by.append(person)
        else:
            silent.append((person, team))
        if rng.random() < REACTION_SHARE:
            for emoji in rng.sample(EMOJI, 2 if rng.random() < 0.2 else 1):
                reactions.append(
                    {
                        "round_id": round_id,
                        "reactor": services.keys.reaction_handle(person.pseudonym, round_id),
                        "emoji": emoji,
                        "team": team,
                        "present": rng.random() < 0.9,
                        "event_us": acted_base + rng.randrange(86_400_000_000 * 3),
                    }
                )
    for person, team in silent:  # Wednesday's reminder to those who had not answered
        deliveries.append(
            _delivery(
                services,
                period=period,
                round_id=round_id,
                person=person,
                team=team,
                status=DeliveryStatus.SENT,
                kind=DeliveryKind.REMINDER,
                sent_day=reminded_day,
            )
        )
    written = []
    tellers = answered_by or list(people)
    for number in range(stories):
        author = rng.choice(tellers)
        draw = rng.random()
        visibility = (
            Visibility.NAMED
            if draw < 0.3
            else Visibility.ANONYMOUS
            if draw < 0.7
            else Visibility.PRIVATE
        )
        parts = rng.sample(STORY_PARTS, rng.randint(1, 3))
        written.append(
            {
                "id": random_id(),
                "round_id": round_id,
                "rule_id": rule_id,
                "author_ref": services.keys.author_seal.seal(author.pseudonym),
                "author_user_id": author.user_id if visibility is Visibility.NAMED else None,
                "author_name": None,
                "visibility": visibility.value,
                "text": ". ".join(parts) + ".",
                "source_id": f"V{round_id:05d}{number:07d}",
            }
        )
    return WeekRows(deliveries, answers, reactions, written)


def _delivery(
    services: Services,
    *,
    period: str,
    round_id: int,
    person: Person,
    team: str | None,
    status: DeliveryStatus,
    kind: DeliveryKind,
    sent_day: datetime | None,
) -> dict[str, Any]:
    sent = sent_day is not None
    row_id = random_id()
    return {
        "id": row_id,
        "kind": kind.value,
        "period": period,
        "round_id": round_id,
        "platform": "slack",
        "recipient": services.keys.delivery_handle(person.pseudonym, round_id),
        "seq": 1 if kind is DeliveryKind.REMINDER else 0,
        "status": status.value,
        "address": person.address,
        "team": team,
        "message_key": (
            services.keys.message_key("slack", f"D{person.user_id}", f"{row_id}.000100")
            if sent
            else None
        ),
        "message_ref": person.message_ref if sent else None,
        "attempts": 5 if status is DeliveryStatus.FAILED else (1 if sent else 0),
        "last_error": "user_not_found" if status is DeliveryStatus.FAILED else None,
        "next_attempt_at": None,
        "claimed_by": None,
        "claimed_until": None,
        "sent_at": sent_day,
    }


async def _settle(engine: AsyncEngine) -> None:
    """Leave the database as a running installation would have it after a while."""
    if engine.dialect.name == "postgresql":
        # Autovacuum would analyze the new rows soon; do it now so it does not run mid-bench.
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))
        return
    # SQLite: no ANALYZE (the product does not run one); fold the WAL into the file.
    async with engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


# --- measuring -------------------------------------------------------------------------------

# The floor: the 8 weeks' figures per week, rule and team in one hand-written SELECT over the
# raw rows: sent prompts and answers each grouped by the team they carry (no stored value joins
# an answer to its delivery), restricted to the window's rounds on both sides, or PostgreSQL
# hashes the whole table (it does not carry `period IN (...)` over the join).
WINDOW = "SELECT id FROM rounds WHERE period IN :periods AND kind = 'pulse'"
PER_TEAM = """
    SELECT r.period, r.rule_id, d.team, d.delivered, COALESCE(a.answered, 0) AS answered,
           a.score_sum, a.average
    FROM rounds r
    JOIN (
        SELECT round_id, COALESCE(team, '') AS team, COUNT(*) AS delivered FROM deliveries
        WHERE round_id IN ({rounds}) AND kind = 'prompt' AND status = 'sent'
        GROUP BY round_id, COALESCE(team, '')
    ) d ON d.round_id = r.id
    LEFT JOIN (
        SELECT round_id, COALESCE(team, '') AS team, COUNT(*) AS answered,
               SUM(score) AS score_sum, AVG(score) AS average
        FROM pulse_answers WHERE round_id IN ({rounds})
        GROUP BY round_id, COALESCE(team, '')
    ) a ON a.round_id = r.id AND a.team = d.team
    WHERE r.period IN :periods AND r.kind = 'pulse'
"""
FLOOR = text(PER_TEAM.format(rounds=WINDOW)).bindparams(bindparam("periods", expanding=True))
# For information: the same figures from what the report reads, the closed rounds' aggregates
# and the open rounds' raw rows, also in one SELECT.
OPEN = "SELECT id FROM rounds WHERE period IN :periods AND kind = 'pulse' AND closed_at IS NULL"
FLOOR_AGGREGATES = text(
    f"""
    SELECT r.period, r.rule_id, g.team, g.delivered, g.answered, g.score_sum
    FROM round_aggregates g JOIN rounds r ON r.id = g.round_id
    WHERE r.period IN :periods AND r.kind = 'pulse' AND g.team <> '*'
    UNION ALL
    SELECT period, rule_id, team, delivered, answered, score_sum FROM (
        {PER_TEAM.format(rounds=OPEN)}
    ) open_rounds
    """  # noqa: S608 - constant text
).bindparams(bindparam("periods", expanding=True))


async def floor_rows(
    services: Services, periods: list[str], query: TextClause = FLOOR
) -> list[Any]:
    """Delivered, answered and the average score per week, rule and team."""
    async with services.sessions() as session:
        return list((await session.execute(query, {"periods": periods})).all())


def check(report: TrustReport, rows: list[Any]) -> list[str]:
    """Where the report's shown figures differ from the hand-written query's (none: [])."""
    floor = {(row.period, row.team): row for row in rows}
    problems = []
    compared = 0
    for week in report.periods:
        for team, figures in week.teams:
            if figures.hidden:
                continue
            row = floor.get((week.period, team if team != NO_TEAM else ""))
            if row is None:
                problems.append(f"{week.period} {team!r}: not in the floor's rows")
                continue
            compared += 1
            blur = report.disclosure.blur
            exact = row.delivered - row.answered > blur
            answered = row.answered if exact else row.delivered - blur
            if (figures.delivered, figures.answered, figures.exact) != (
                row.delivered,
                answered,
                exact,
            ):
                problems.append(
                    f"{week.period} {team!r}: report {figures.answered}/{figures.delivered} "
                    f"(exact: {figures.exact}), SQL {row.answered}/{row.delivered}"
                )
            index = 25 * (float(row.average) - 1)
            if (
                figures.index is not None
                and not figures.index_bound
                and abs(figures.index - index) > figures.index_step / 2 + 1e-9
            ):
                problems.append(f"{week.period} {team!r}: index {figures.index} vs {index:.2f}")
    if compared == 0:
        problems.append("no team figure was shown: nothing compared")
    return problems


async def measure(url: str, runs: int) -> dict[str, Any]:
    """Time the report (as /trust-report and the digest call it) and the floor, interleaved."""
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    engine = create_engine(url)
    try:
        services = services_for(url, engine)
        request = ReportRequest(weeks=DEFAULT_WEEKS)
        periods = recent_periods(services.current_period(), DEFAULT_WEEKS)
        # One untimed round first: connections, statement caches, the OS page cache.
        digest = await current_trust_report(services, DEFAULT_WEEKS)
        rows = await floor_rows(services, periods)
        await current_trust_report(services, request)
        problems = check(digest, rows)
        rss_ready = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        await floor_rows(services, periods, FLOOR_AGGREGATES)
        times: dict[str, list[float]] = {"report": [], "digest": [], "floor": [], "aggregates": []}
        for _ in range(runs):
            started = time.perf_counter()
            await current_trust_report(services, request)
            times["report"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await current_trust_report(services, DEFAULT_WEEKS)
            times["digest"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await floor_rows(services, periods)
            times["floor"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await floor_rows(services, periods, FLOOR_AGGREGATES)
            times["aggregates"].append((time.perf_counter() - started) * 1000)
        teams_shown = sum(
            1 for week in digest.periods for _, figures in week.teams if figures.shown
        )
        teams_hidden = sum(
            1 for week in digest.periods for _, figures in week.teams if figures.hidden
        )
    finally:
        await engine.dispose()
    return {
        "times": times,
        "problems": problems,
        "team_figures": [teams_shown, teams_hidden],
        "rss_start_kb": rss_start,
        "rss_ready_kb": rss_ready,
        "rss_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "vm_hwm_kb": vm_hwm_kb(),
    }


# --- running ---------------------------------------------------------------------------------


def _admin_conninfo(postgres_url: str) -> str:
    return make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_database(postgres_url: str, name: str, *, create: bool) -> str:
    """The URL of database `name` on the server of `postgres_url`, created if asked and new."""
    with psycopg.connect(_admin_conninfo(postgres_url), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if exists is None and create:
            connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_url).set(drivername="postgresql", database=name)
    return url.render_as_string(hide_password=False)


def remove_sqlite(path: Path) -> None:
    """Delete a SQLite database file with its WAL files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def drop_postgres_database(postgres_url: str, name: str) -> None:
    with psycopg.connect(_admin_conninfo(postgres_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def reusable(url: str, size: Size) -> bool:
    """Whether the database holds a complete build of this size (brought to the newest schema)."""
    engine = create_engine(url)
    try:
        if await stored_dataset(engine) != dataset_name(*size):
            return False
        await upgrade_to_head(engine, pseudonym_key=KEY)  # a migration added since, say
        return True
    finally:
        await engine.dispose()


async def row_counts(url: str) -> dict[str, int]:
    """How many rows the report reads from."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            counts = {}
            for table in ("deliveries", "pulse_answers", "reactions", "anecdotes", "rounds"):
                counts[table] = int(
                    await connection.scalar(text(f"SELECT COUNT(*) FROM {table}")) or 0  # noqa: S608
                )
            return counts
    finally:
        await engine.dispose()


def vm_hwm_kb() -> int | None:
    """The kernel's peak resident set of this process image (Linux), a cross-check."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def database_name(size: Size) -> str:
    """The PostgreSQL database (and SQLite file) of a bench of this size."""
    name = f"trustbot_bench_report_{size.people}x{size.weeks}"
    return name if size.open_rounds == 1 else f"{name}_open{size.open_rounds}"


async def prepare(
    backend: str, size: Size, *, keep: bool, postgres_url: str, data_dir: Path
) -> dict[str, Any]:
    """The database of this size, built (or reused with --keep); its URL and row counts."""
    name = database_name(size)
    if backend == "sqlite":
        path = data_dir / f"{name}.db"
        url = f"sqlite:///{path}"
    else:
        url = postgres_database(postgres_url, name, create=True)
    if keep and await reusable(url, size):
        prepared = "reused (--keep)"
    else:
        if backend == "sqlite":  # start from an empty file or database
            remove_sqlite(path)
        else:
            drop_postgres_database(postgres_url, name)
            postgres_database(postgres_url, name, create=True)
        started = time.perf_counter()
        await build(url, *size)
        prepared = f"built in {time.perf_counter() - started:.0f} s"
    return {"url": url, "prepared": prepared, "counts": await row_counts(url)}


def main(argv: list[str]) -> None:
    """Run one step; print its result as one line of JSON."""
    parser = argparse.ArgumentParser()
    steps = parser.add_subparsers(dest="step", required=True)
    step = steps.add_parser("prepare")
    step.add_argument("backend", choices=("sqlite", "postgresql"))
    step.add_argument("people", type=int)
    step.add_argument("weeks", type=int)
    step.add_argument("open_rounds", type=int)
    step.add_argument("--keep", action="store_true")
    step.add_argument("--postgres-url", required=True)
    step.add_argument("--data-dir", type=Path, required=True)
    step = steps.add_parser("measure")
    step.add_argument("url")
    step.add_argument("runs", type=int)
    step = steps.add_parser("drop")
    step.add_argument("postgres_url")
    step.add_argument("people", type=int)
    step.add_argument("weeks", type=int)
    step.add_argument("open_rounds", type=int)
    args = parser.parse_args(argv)
    result: Any
    if args.step == "prepare":
        result = asyncio.run(
            prepare(
                args.backend,
                Size(args.people, args.weeks, args.open_rounds),
                keep=args.keep,
                postgres_url=args.postgres_url,
                data_dir=args.data_dir,
            )
        )
    elif args.step == "measure":
        result = asyncio.run(measure(args.url, args.runs))
    else:
        size = Size(args.people, args.weeks, args.open_rounds)
        drop_postgres_database(args.postgres_url, database_name(size))
        result = {}
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
