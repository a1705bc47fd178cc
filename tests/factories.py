"""Rows the tests need, built the way the product stores them."""

from __future__ import annotations

from sqlalchemy import select

from trustbot.core.figures import HIDDEN, Counts, disclosure_for, reveal
from trustbot.core.periods import recent_periods
from trustbot.core.privacy import random_id
from trustbot.core.reports import (
    Alert,
    ChartSeries,
    PeriodReport,
    ReportRequest,
    RuleReport,
    SharedStory,
    TrustReport,
)
from trustbot.core.rounds import open_round
from trustbot.core.rules import CALL_ME_WAY, Rule
from trustbot.core.services import Services
from trustbot.db.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    PulseAnswer,
    Round,
    RoundAggregate,
)


def sent_prompt(
    services: Services,
    round_: Round,
    *,
    user_id: str,
    channel: str,
    ts: str,
    platform: str = "slack",
) -> Delivery:
    """The delivery of `round_`'s prompt to `user_id`, sent as message `ts` in `channel`."""
    now = services.now()
    return Delivery(
        id=random_id(),
        kind=DeliveryKind.PROMPT,
        period=round_.period,
        round_id=round_.id,
        platform=platform,
        recipient=services.keys.delivery_handle(
            services.keys.pseudonym(user_id, platform), round_.id
        ),
        seq=0,
        status=DeliveryStatus.SENT,
        address=services.keys.seal.seal(user_id),
        message_key=services.keys.message_key(platform, channel, ts),
        message_ref=services.keys.seal.seal(f"{channel} {ts}"),
        attempts=1,
        sent_at=now,
    )


def sample_report(
    *,
    weeks: int = 8,
    stories: tuple[SharedStory, ...] = (),
    rules: tuple[Rule, ...] = CALL_ME_WAY,
    teams: bool = True,
) -> TrustReport:
    """A report as the core would build it: closed weeks (some hidden, some banded), the open
    week, teams, an alert and a chart; for renderer tests that need no database."""
    k5 = disclosure_for(5)
    periods = recent_periods("2026-W48", weeks)
    reports = []
    chart_points: dict[int, list[float | None]] = {rule.position: [] for rule in rules}
    for index, period in enumerate(periods):
        rule = rules[index % len(rules)]
        if period == periods[-1]:
            reports.append(PeriodReport(period, rule, True, HIDDEN))
            continue
        if index % 4 == 1:
            reports.append(PeriodReport(period, rule, False, HIDDEN))
            continue
        delivered = 19999 if index % 2 else 9999  # exact figures, or a band
        counts = Counts(delivered, 9999, 9999 * 4, (999, 999, 1000, 3000, 5002), 99999, 999)
        figures = reveal(counts, k5)
        team_rows = (
            (
                ("Customer care and support", reveal(counts, k5, activity=False)),
                ("Sales", HIDDEN),
                ("", HIDDEN),
            )
            if teams
            else ()
        )
        reports.append(PeriodReport(period, rule, False, figures, team_rows, -12.4, 3.6))
    chart_periods = tuple(recent_periods("2026-W48", 12))
    for position in chart_points:
        chart_points[position] = [
            70.0 + position if i % len(rules) == position - 1 else None
            for i in range(len(chart_periods))
        ]
    return TrustReport(
        request=ReportRequest(weeks),
        periods=tuple(reports),
        rules=tuple(
            RuleReport(rule, reveal(Counts(60, 50, 200, (0, 0, 0, 50, 0)), k5), None, 4.0)
            for rule in rules
        ),
        overall=reveal(Counts(200, 180, 700, (10, 10, 20, 60, 80)), k5),
        overall_change=2.0,
        alerts=(Alert("index_drop", rules[0], 82.0, 66.0, tuple(periods[:3]), 31),),
        stories=stories,
        disclosure=k5,
        chart_periods=chart_periods,
        chart=tuple(
            ChartSeries(rule, tuple(chart_points[rule.position]), (False,) * len(chart_periods))
            for rule in rules
        ),
    )


def handle(
    services: Services, purpose: str, user_id: str, round_id: int, platform: str = "slack"
) -> str:
    """A person's stored handle in one table for one round ("delivery", "answer", "reaction"),
    computed with the key as the product does."""
    person = services.keys.pseudonym(user_id, platform)
    return {
        "delivery": services.keys.delivery_handle,
        "answer": services.keys.answer_handle,
        "reaction": services.keys.reaction_handle,
    }[purpose](person, round_id)


def by_user(
    services: Services,
    purpose: str,
    users: list[str],
    round_ids: list[int],
    platform: str = "slack",
) -> dict[str, str]:
    """Stored handle -> user id, for these users in these rounds (tests only: the product
    never maps handles back to anyone)."""
    return {
        handle(services, purpose, user, round_id, platform): user
        for user in users
        for round_id in round_ids
    }


async def stored_answers(
    services: Services, users: list[str], platform: str = "slack"
) -> list[tuple[str, int]]:
    """(user id, score) of every stored answer, each answer's handle matched with the key."""
    async with services.sessions() as session:
        rows = (
            await session.execute(
                select(PulseAnswer.round_id, PulseAnswer.respondent, PulseAnswer.score)
            )
        ).all()
    who = by_user(
        services, "answer", users, sorted({round_id for round_id, _, _ in rows}), platform
    )
    return [(who[respondent], score) for _, respondent, score in rows]


async def closed_round_with_teams(services: Services, period: str, teams: list[str]) -> None:
    """A closed round of `period` with (empty) aggregates for each of `teams`."""
    async with services.transaction() as session:
        round_, _ = await open_round(
            session=session, rules=services.rules, period=period, now=services.now()
        )
        round_.closed_at = services.now()
        zeros = {
            column.key: 0
            for column in RoundAggregate.__table__.columns
            if column.key not in ("round_id", "team")
        }
        for team in teams:
            session.add(RoundAggregate(round_id=round_.id, team=team, **zeros))
