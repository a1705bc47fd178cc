"""The trust report: weekly figures, small-group hiding, trends and stories."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.core.periods import recent_periods
from trustbot.core.reports import (
    DEFAULT_WEEKS,
    MAX_WEEKS,
    ReportArgumentError,
    RuleTrend,
    TrustReport,
    build_trust_report,
    parse_weeks,
)
from trustbot.core.rounds import open_round
from trustbot.core.rules import CALL_ME_WAY, Rule
from trustbot.core.services import Services
from trustbot.db.models import (
    Anecdote,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    PulseAnswer,
    Reaction,
    Round,
    Visibility,
)

CURRENT = "2026-W48"  # the fixture clock's week


@pytest.mark.parametrize(
    ("text", "weeks"), [("", DEFAULT_WEEKS), ("   ", 8), ("12", 12), (" 1 ", 1), ("52", 52)]
)
def test_parse_weeks(text: str, weeks: int) -> None:
    assert parse_weeks(text) == weeks


@pytest.mark.parametrize("text", ["0", "53", "abc", "1 2", "-3", "4.5", "1e2"])
def test_parse_weeks_refuses(text: str) -> None:
    with pytest.raises(ReportArgumentError):
        parse_weeks(text)


def test_parse_weeks_refuses_a_huge_number_with_the_usage_error() -> None:
    with pytest.raises(ReportArgumentError):
        parse_weeks("9" * 4301)


def test_defaults() -> None:
    assert (DEFAULT_WEEKS, MAX_WEEKS) == (8, 52)


@pytest.mark.parametrize(
    ("averages", "direction"),
    [
        ((), "none"),
        ((3.0,), "single"),
        ((3.0, 3.5), "up"),
        ((3.0, 2.5), "down"),
        ((3.0, 3.25), "up"),
        ((3.0, 2.75), "down"),
        ((3.0, 3.15), "flat"),
        ((3.0, 2.85), "flat"),
        ((3.0, 1.0, 3.1), "flat"),
        ((2.0, 4.9, 1.0, 2.5), "up"),
    ],
)
def test_trend_direction(averages: tuple[float, ...], direction: str) -> None:
    assert RuleTrend(CALL_ME_WAY[0], averages).direction == direction


def test_trend_change_of_exactly_the_threshold_is_flat() -> None:
    pairs = [(3.0, 3.2), (3.2, 3.4), (3.0, 2.8), (3.4, 3.2), (1.1, 1.3), (4.8, 4.6)]
    directions = {pair: RuleTrend(CALL_ME_WAY[0], pair).direction for pair in pairs}
    assert directions == dict.fromkeys(pairs, "flat")


@dataclass
class Week:
    """What happened in one period of test data."""

    period: str
    sent: int = 0
    failed: int = 0
    scores: list[int] = field(default_factory=list)
    stories: list[Visibility] = field(default_factory=list)
    reactions: int = 0


async def _build(services: Services, weeks: list[Week]) -> dict[str, int]:
    """Open a round per week (in period order) with deliveries, answers, stories, reactions."""
    round_ids: dict[str, int] = {}
    counter = 0
    base = services.now() - timedelta(weeks=30)
    async with services.sessions() as session, session.begin():
        for week in sorted(weeks, key=lambda item: item.period):
            round_, _ = await open_round(
                session=session, rules=services.rules, period=week.period, now=base
            )
            round_ids[week.period] = round_.id
            deliveries = await _deliveries(session, round_, week, base)
            for index, score in enumerate(week.scores):
                session.add(
                    PulseAnswer(
                        round_id=round_.id,
                        respondent=services.pseudonym(f"U0P{index:03d}"),
                        score=score,
                        answered_at=base,
                        updated_at=base,
                    )
                )
            for index, visibility in enumerate(week.stories):
                counter += 1
                named = visibility is Visibility.NAMED
                session.add(
                    Anecdote(
                        round_id=round_.id,
                        rule_id=round_.rule_id,
                        author=services.pseudonym(f"U0P{index:03d}"),
                        author_user_id=f"U0P{index:03d}" if named else None,
                        visibility=visibility,
                        text=f"{visibility.value} story {week.period} #{counter}",
                        source_id=f"V{counter:05d}",
                        created_at=base + timedelta(minutes=counter),
                    )
                )
            for index in range(week.reactions):
                session.add(
                    Reaction(
                        round_id=round_.id,
                        delivery_id=deliveries[index % len(deliveries)],
                        reactor=services.pseudonym(f"U0R{index:03d}"),
                        emoji="tada",
                        created_at=base,
                    )
                )
    return round_ids


async def _deliveries(session: AsyncSession, round_: Round, week: Week, now: datetime) -> list[int]:
    rows = []
    for index in range(week.sent + week.failed):
        sent = index < week.sent
        row = Delivery(
            kind=DeliveryKind.PROMPT,
            period=round_.period,
            round_id=round_.id,
            platform="slack",
            recipient=f"{week.period}-{index:03d}".ljust(64, "x"),
            status=DeliveryStatus.SENT if sent else DeliveryStatus.FAILED,
            message_key=f"{round_.id}.{index:06d}".ljust(64, "k") if sent else None,
            attempts=1,
            created_at=now,
            sent_at=now if sent else None,
        )
        session.add(row)
        rows.append(row)
    await session.flush()
    return [row.id for row in rows]


async def _report(services: Services, weeks: int = 8, min_group_size: int = 3) -> TrustReport:
    async with services.sessions() as session:
        return await build_trust_report(
            session=session,
            current_period=services.current_period(),
            weeks=weeks,
            min_group_size=min_group_size,
            rules=services.rules,
        )


async def test_weekly_figures(services: Services) -> None:
    assert services.current_period() == CURRENT
    await _build(
        services,
        [
            Week("2026-W45", sent=6, failed=2, scores=[4, 5, 3, 4], reactions=2),
            Week("2026-W46", sent=5, scores=[1, 2]),  # below the group size of 3
            # 2026-W47: no round at all
            Week(
                "2026-W48",
                sent=4,
                scores=[5, 4, 4],
                stories=[Visibility.NAMED, Visibility.ANONYMOUS, Visibility.PRIVATE],
                reactions=3,
            ),
        ],
    )
    report = await _report(services, weeks=5)
    assert report.min_group_size == 3
    assert [week.period for week in report.weeks] == recent_periods(CURRENT, 5)
    by_period = {week.period: week for week in report.weeks}

    w44 = by_period["2026-W44"]
    assert (w44.rule, w44.delivered, w44.answered, w44.average, w44.hidden) == (
        None,
        0,
        0,
        None,
        False,
    )
    w47 = by_period["2026-W47"]
    assert w47.rule is None
    assert (w47.stories, w47.reactions) == (0, 0)

    w45 = by_period["2026-W45"]
    assert w45.rule == CALL_ME_WAY[0]
    assert (w45.delivered, w45.answered, w45.average, w45.hidden) == (6, 4, 4.0, False)
    assert (w45.stories, w45.reactions) == (0, 2)

    w46 = by_period["2026-W46"]
    assert w46.rule == CALL_ME_WAY[1]
    assert (w46.delivered, w46.answered, w46.average, w46.hidden) == (5, 2, None, True)

    w48 = by_period["2026-W48"]
    assert w48.rule == CALL_ME_WAY[2]
    assert (w48.delivered, w48.answered, w48.hidden) == (4, 3, False)
    assert w48.average == 4.33
    assert isinstance(w48.average, float)
    assert w48.stories == 3  # private stories are counted
    assert w48.reactions == 3


async def test_hidden_exactly_below_the_group_size(services: Services) -> None:
    await _build(services, [Week(CURRENT, sent=5, scores=[5, 5, 5, 5])])
    at_five = (await _report(services, weeks=1, min_group_size=5)).weeks[0]
    assert (at_five.answered, at_five.average, at_five.hidden) == (4, None, True)
    at_four = (await _report(services, weeks=1, min_group_size=4)).weeks[0]
    assert (at_four.answered, at_four.average, at_four.hidden) == (4, 5.0, False)


async def test_rounds_outside_the_window_are_left_out(services: Services) -> None:
    await _build(
        services,
        [
            Week("2026-W30", sent=3, scores=[1, 1, 1], stories=[Visibility.NAMED]),
            Week(CURRENT, sent=3, scores=[3, 3, 3]),
        ],
    )
    report = await _report(services, weeks=2)
    assert [week.period for week in report.weeks] == ["2026-W47", CURRENT]
    assert report.weeks[-1].average == 3.0
    assert report.stories == ()


async def test_stories_private_never_shown_anonymous_without_name(services: Services) -> None:
    await _build(
        services,
        [
            Week(
                "2026-W47",
                scores=[3, 3, 3],
                stories=[Visibility.PRIVATE, Visibility.NAMED],
            ),
            Week(
                CURRENT,
                scores=[3, 3, 3],
                stories=[Visibility.ANONYMOUS, Visibility.PRIVATE, Visibility.NAMED],
            ),
        ],
    )
    report = await _report(services)
    assert sum(week.stories for week in report.weeks) == 5
    assert len(report.stories) == 3
    assert all("private" not in story.text for story in report.stories)
    # Newest first.
    assert [story.text.split()[0] for story in report.stories] == ["named", "anonymous", "named"]
    assert [story.period for story in report.stories] == [CURRENT, CURRENT, "2026-W47"]
    for story in report.stories:
        if story.text.startswith("anonymous"):
            assert story.author_user_id is None
        else:
            assert story.author_user_id is not None
            assert story.author_user_id.startswith("U0P")
    assert report.stories[0].rule == CALL_ME_WAY[1]
    assert report.stories[2].rule == CALL_ME_WAY[0]


async def test_at_most_five_latest_stories(services: Services) -> None:
    await _build(services, [Week(CURRENT, stories=[Visibility.ANONYMOUS] * 7)])
    report = await _report(services, weeks=1)
    assert report.weeks[0].stories == 7
    assert [story.text.rsplit("#", 1)[1] for story in report.stories] == ["7", "6", "5", "4", "3"]


async def test_trends_per_rule(services: Services) -> None:
    periods = recent_periods(CURRENT, 10)  # rule positions 1,2,3,4,5,1,2,3,4,5
    scores = {
        0: [2, 2, 2],  # rule 1: 2.0 …
        5: [4, 4, 4],  # … → 4.0: up
        1: [4, 4, 4],  # rule 2: 4.0 …
        6: [3, 3, 3],  # … → 3.0: down
        2: [3, 3, 3],  # rule 3: 3.0 …
        7: [3, 3, 4],  # … → 3.33: up (0.33 > 0.2)
        3: [3, 3, 3],  # rule 4: 3.0 …
        8: [3, 3, 3, 4, 3, 3, 3, 3, 3, 3],  # … → 3.1: flat
        # rule 5: week 4 hidden (2 answers), week 9 single visible reading
        4: [5, 5],
        9: [5, 4, 4],
    }
    await _build(services, [Week(period, scores=scores[i]) for i, period in enumerate(periods)])
    report = await _report(services, weeks=10)
    trends = {trend.rule.position: trend for trend in report.trends}
    assert list(trends) == [1, 2, 3, 4, 5]
    assert trends[1].averages == (2.0, 4.0)
    assert trends[1].direction == "up"
    assert trends[2].averages == (4.0, 3.0)
    assert trends[2].direction == "down"
    assert trends[3].averages == (3.0, 3.33)
    assert trends[3].direction == "up"
    assert trends[4].averages == (3.0, 3.1)
    assert trends[4].direction == "flat"
    assert trends[5].averages == (4.33,)
    assert trends[5].direction == "single"


async def test_trends_without_figures(services: Services) -> None:
    report = await _report(services)
    assert all(week.rule is None for week in report.weeks)
    assert len(report.weeks) == 8
    assert [trend.rule for trend in report.trends] == list(CALL_ME_WAY)
    assert {trend.direction for trend in report.trends} == {"none"}
    assert report.stories == ()


async def test_trend_uses_the_rule_text_from_the_rules(services: Services) -> None:
    """A rule position that only exists in old rounds still gets a trend."""
    custom = (Rule(1, "a", "A"), Rule(2, "b", "B"), Rule(3, "c", "C"), Rule(4, "d", "D"))
    old_rules = (*custom, Rule(5, "e", "E"), Rule(6, "f", "F"))
    periods = recent_periods(CURRENT, 6)
    async with services.sessions() as session, session.begin():
        for period in periods:
            await open_round(session=session, rules=old_rules, period=period, now=services.now())
    async with services.sessions() as session:
        report = await build_trust_report(
            session=session, current_period=CURRENT, weeks=6, min_group_size=3, rules=custom
        )
    assert [trend.rule.position for trend in report.trends] == [1, 2, 3, 4, 5, 6]
    assert report.trends[5].rule == Rule(6, "f", "F")
    assert report.trends[5].direction == "none"
