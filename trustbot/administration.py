"""What the administration commands do (prompt --now, report, schedule, status, forget,
export), as async functions over Settings; each opens what it needs through app.py's root."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from trustbot.app import Runtime, open_engine, open_runtime, open_services
from trustbot.config import Settings
from trustbot.core.erasure import forget_person
from trustbot.core.export import (
    AGGREGATE_HEADER,
    exported_aggregates,
    exported_answers,
    exported_stories,
)
from trustbot.core.periods import period_of
from trustbot.core.reports import ReportRequest, current_trust_report
from trustbot.core.rounds import count_rounds_before, find_round, rule_for
from trustbot.core.rules import load_rules
from trustbot.db.models import DeliveryKind, DeliveryStatus, Lease
from trustbot.db.session import create_session_factory
from trustbot.delivery.outbox import outbox_counts
from trustbot.logsetup import configure_logging
from trustbot.render.text import render_report_text
from trustbot.scheduler.cron import cron_trigger, next_fire_times
from trustbot.scheduler.jobs import fire_period, job_specs_for
from trustbot.scheduler.leader import LEASE, leader_running


async def prompt_now(settings: Settings) -> str:
    """Open this period's round, queue its prompt for everyone not yet prompted, and send
    through the same outbox and sender the scheduler uses; a summary line."""
    configure_logging(settings)
    async with open_runtime(settings) as runtime:
        summary = await run_prompt_now(runtime)
    return describe_summary(summary)


@dataclass(frozen=True, slots=True)
class PromptSummary:
    """What `prompt --now` did."""

    period: str
    rule_position: int
    round_opened: bool
    audience: int
    paused: int
    sent: int  # during this run, by this process or another one draining the outbox
    already_sent: int
    failed: int
    last_errors: list[str]
    sent_here: int = 0  # by this process


async def run_prompt_now(runtime: Runtime) -> PromptSummary:
    """Queue this period's prompts (retrying failed ones) and send until none is waiting.

    Any process may send the queued rows (a running `serve` drains the outbox too), so what
    this run sent is counted in the database, not by this process's sender.
    """
    period = runtime.services.current_period()
    before = (await outbox_counts(runtime.services, period=period)).count(DeliveryStatus.SENT)
    per_platform = await runtime.jobs.prompt(now=True)  # one round, queued per platform
    enqueued = per_platform[0]
    stats = await runtime.sender.drain(period=enqueued.period)
    counts = await outbox_counts(runtime.services, period=enqueued.period)
    sent = counts.count(DeliveryStatus.SENT) - (before if enqueued.period == period else 0)
    return PromptSummary(
        period=enqueued.period,
        rule_position=enqueued.rule_position,
        round_opened=any(each.round_opened for each in per_platform),
        audience=sum(each.audience for each in per_platform),
        paused=sum(each.paused for each in per_platform),
        sent=max(sent, stats.sent),
        sent_here=stats.sent,
        already_sent=counts.count(DeliveryStatus.SENT) - max(sent, stats.sent),
        failed=counts.count(DeliveryStatus.FAILED),
        last_errors=counts.last_errors,
    )


def describe_summary(summary: PromptSummary) -> str:
    """A one-line account of a prompt run."""
    head = f"{summary.period}, rule {summary.rule_position}: "
    paused = f"; {summary.paused} paused their prompts" if summary.paused else ""
    if summary.sent == 0 and summary.failed == 0:
        return head + (
            f"nothing new to send; {summary.already_sent} of {summary.audience} people "
            f"already have this week's prompt{paused}."
        )
    line = f"sent {summary.sent} prompts"
    if summary.sent_here != summary.sent:  # a running `serve` (or another run) sent some
        line += f", {summary.sent_here} by this run and the rest by another trustbot process"
    line += f" ({summary.already_sent} already had it{paused}"
    if summary.failed:
        reasons = ", ".join(summary.last_errors)
        line += f"; {summary.failed} failed ({reasons}), retried on the next `prompt --now`"
    return head + line + ")."


async def report_text(settings: Settings, request: ReportRequest) -> str:
    """The trust report rendered for a terminal."""
    async with open_services(settings) as services:
        report = await current_trust_report(services, request)
    return render_report_text(report, language=settings.language, timezone=settings.timezone)


async def schedule_text(settings: Settings, *, count: int = 5) -> str:
    """The next fire times of each job in TRUSTBOT_TIMEZONE, and the rule each prompt asks."""
    zone = settings.zone
    now = datetime.now(UTC)
    before, this_week, note = await _rotation_state(settings)
    current = period_of(now, zone)
    rules = load_rules(settings.rules_file)
    lines = [f"Schedules in {settings.timezone} (TRUSTBOT_TIMEZONE); {note}"]
    first_local: datetime | None = None
    for spec in job_specs_for(settings):
        lines.append("")
        lines.append(f"{spec.name:<9}{spec.expression}")
        new_rounds = 0  # each coming prompt run opens a round, but this week's exists already
        trigger = spec.trigger
        if spec.name == "prompt" and settings.delivery_time == "local":
            # The job starts where the time comes first (UTC+14); people see the wall clock.
            first_local = spec.trigger.get_next_fire_time(None, now)
            trigger = cron_trigger(spec.expression, zone)
        for fire in next_fire_times(trigger, now, count):
            local = fire.astimezone(zone)
            when = local.strftime("%a %Y-%m-%d %H:%M %Z")
            if spec.name == "prompt":
                period = fire_period(fire)
                if period == current and this_week:
                    earlier = before
                else:
                    earlier = before + this_week + new_rounds
                    new_rounds += 1
                rule = rule_for(
                    period,
                    rules=rules,
                    earlier_rounds=earlier,
                    first_rule=settings.first_rule,
                    first_week=settings.first_week,
                )
                when += f"  {period}, rule {rule.position}: {rule.text(settings.language)}"
            elif spec.name == "reminder":
                when += f"  (to those who have not answered; at most {settings.max_reminders})"
            elif spec.name == "digest":
                when += "  to " + ", ".join(settings.leadership_channels)
            lines.append(f"  {when}")
    if settings.max_reminders == 0:
        lines += ["", "reminder  off (TRUSTBOT_MAX_REMINDERS=0)"]
    if not settings.leadership_channels:
        lines += ["", "digest    off (no TRUSTBOT_LEADERSHIP_CHANNELS)"]
    if settings.delivery_time == "local":
        lines += [
            "",
            "Prompts reach each person at the scheduled time in their own Slack time zone",
            "(TRUSTBOT_DELIVERY_TIME=local); the times above are those in TRUSTBOT_TIMEZONE.",
        ]
        if first_local is not None:
            first = first_local.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")
            lines.append(f"The next run starts at {first}, for people at UTC+14.")
    return "\n".join(lines)


def _file_exists(path: str) -> bool:
    return Path(path).is_file()


async def _rotation_state(settings: Settings) -> tuple[int, int, str]:
    """(rounds opened before this week, whether this week's round is open, a note)."""
    if settings.first_week is not None:
        return (
            0,
            False,
            f"rules rotate weekly from rule {settings.first_rule} in {settings.first_week}",
        )
    database = make_url(settings.database_url).database or ""
    if settings.database_url.startswith("sqlite") and not _file_exists(database):
        return 0, 0, "no database yet: rules shown as if no round had been opened"
    try:
        async with open_engine(settings) as engine, create_session_factory(engine)() as session:
            current = period_of(datetime.now(UTC), settings.zone)
            before = await count_rounds_before(session=session, period=current)
            this_week = await find_round(session=session, period=current)
    except SQLAlchemyError:
        return 0, 0, "no database yet: rules shown as if no round had been opened"
    return before, int(this_week is not None), "rules rotate in order from the last round"


async def status_text(settings: Settings) -> str:
    """The current round, the outbox's counts and last errors, the next runs, the leader."""
    async with open_services(settings) as services:
        now = services.now()
        period = services.current_period()
        lines: list[str] = []
        async with services.sessions() as session:
            round_ = await find_round(session=session, period=period)
            lease = await session.get(Lease, LEASE)
        if round_ is None:
            lines.append(f"{period}: no round opened yet")
        else:
            state = "closed" if round_.closed_at else "open"
            lines.append(f"{period}: round {state}, rule {round_.rule.position}")
        for kind in DeliveryKind:
            counts = await outbox_counts(services, period=period, kind=kind)
            if counts.by_status:
                figures = ", ".join(
                    f"{n} {status}" for status, n in sorted(counts.by_status.items())
                )
                lines.append(f"  {kind.value}s: {figures}")
                lines += [f"    failed: {reason}" for reason in counts.last_errors]
        if lease is None:
            lines.append("scheduler: no process has led it yet")
        else:
            age = int((now - lease.heartbeat_at).total_seconds())
            # Asked of the lock itself, not of the heartbeat's age: a dead process's lock is
            # gone at once, where its last heartbeat looks fresh for a while.
            running = await leader_running(services.database.engine, settings.database_url)
            alive = "running" if running else "not running: no serve process holds the lock"
            lines.append(f"scheduler: led by {lease.holder}, last seen {age} s ago ({alive})")
        lines.append("next runs:")
        for spec in job_specs_for(settings):
            fire = spec.trigger.get_next_fire_time(None, now)
            when = (
                fire.astimezone(settings.zone).strftime("%a %Y-%m-%d %H:%M %Z") if fire else "never"
            )
            lines.append(f"  {spec.name:<9}{when}")
    return "\n".join(lines)


async def forget_text(settings: Settings, user_id: str, *, platform: str) -> str:
    """Erase one person's data (a Slack user id, or a Teams person's Entra object id)."""
    async with open_services(settings) as services:
        gone = await forget_person(services, user_id=user_id, platform=platform)
    if not gone.anything:
        kinds = "answers, stories, deliveries, reactions or settings"
        if platform == "teams":
            kinds = "answers, stories, deliveries, reactions, settings or Teams conversations"
        return f"nothing stored for {user_id}: no {kinds} (nothing was removed)"
    chat = f", {gone.conversations} Teams conversations" if platform == "teams" else ""
    return (
        f"forgot {user_id}: {gone.answers} answers, {gone.stories} stories, "
        f"{gone.deliveries} deliveries, {gone.reactions} reactions, {gone.settings} settings"
        f"{chat}; {gone.closed_rounds} closed weeks keep only their aggregates (their other "
        "raw answers, reactions, private stories and deliveries were removed too, so nothing "
        "left can be subtracted from them)"
    )


async def export_files(settings: Settings, out: Path) -> str:
    """Write aggregates.csv, answers.csv and stories.csv into `out`; what was written."""
    async with open_services(settings) as services:
        aggregates, shown, exact = await exported_aggregates(services)
        answers = await exported_answers(services, exact)
        stories = await exported_stories(services, shown)
    counts = {
        "aggregates.csv": _write_csv(out / "aggregates.csv", AGGREGATE_HEADER, aggregates),
        "answers.csv": _write_csv(out / "answers.csv", ("period", "rule", "score"), answers),
        "stories.csv": _write_csv(
            out / "stories.csv", ("period", "rule", "shared", "author_user_id", "text"), stories
        ),
    }
    return "\n".join(f"{out / name}: {rows} rows" for name, rows in counts.items())


def _write_csv(path: Path, header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            written += 1
    return written
