"""The trust report: closed weeks from aggregates, the open week without scores, thresholds on
every figure, teams, rules, alerts, stories and the chart series."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from tests.conftest import FixedClock
from tests.factories import handle, sent_prompt
from trustbot.core.aggregates import finalize_closed_rounds, purge_old_answers
from trustbot.core.periods import recent_periods
from trustbot.core.ports import Visibility
from trustbot.core.privacy import random_id
from trustbot.core.reports import (
    DEFAULT_WEEKS,
    MAX_WEEKS,
    ReportArgumentError,
    ReportRequest,
    TrustReport,
    build_trust_report,
    parse_report_arguments,
)
from trustbot.core.rounds import close_ended_rounds, open_round
from trustbot.core.services import Services
from trustbot.db.models import Anecdote, PulseAnswer, Reaction, Round

CURRENT = "2026-W48"  # the fixture clock's week
TEAMS = ("Sales", "Support")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ReportRequest(DEFAULT_WEEKS)),
        ("12", ReportRequest(12)),
        (" 1 ", ReportRequest(1)),
        ("52 rule=3", ReportRequest(52, rule=3)),
        ("team=sales 4", ReportRequest(4, team="Sales")),
        ("rule=2 team=Support 8", ReportRequest(8, rule=2, team="Support")),
    ],
)
def test_parse_report_arguments(text: str, expected: ReportRequest) -> None:
    assert parse_report_arguments(text, teams=TEAMS, rules=5) == expected


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "53",
        "abc",
        "1 2",
        "-3",
        "4.5",
        "rule=6",
        "rule=0",
        "team=Nobody",
        "rule=1 rule=2",
        "9" * 40,
    ],
)
def test_parse_report_arguments_refuses(text: str) -> None:
    with pytest.raises(ReportArgumentError):
        parse_report_arguments(text, teams=TEAMS, rules=5)


def test_defaults() -> None:
    assert (DEFAULT_WEEKS, MAX_WEEKS) == (8, 52)


@dataclass
class Week:
    """One period of test data: who got the prompt (by team) and what they answered."""

    period: str
    scores: dict[str, list[int]] = field(default_factory=dict)  # team -> scores
    silent: dict[str, int] = field(default_factory=dict)  # team -> prompted, no answer
    stories: list[Visibility] = field(default_factory=list)
    reactions: int = 0


async def _build(
    services: Services, clock: FixedClock, weeks: list[Week], *, close: bool = True
) -> None:
    """Each week's round with its prompts, answers, stories and reactions; past weeks closed
    unless `close` is false (the close job has not run)."""
    person = 0
    for week in sorted(weeks, key=lambda item: item.period):
        async with services.transaction() as session:
            round_, _ = await open_round(
                session=session, rules=services.rules, period=week.period, now=clock.now
            )
            deliveries = []
            for team in sorted(set(week.scores) | set(week.silent)):
                answers = week.scores.get(team, [])
                for index in range(len(answers) + week.silent.get(team, 0)):
                    person += 1
                    user = f"U0P{person:04d}"
                    row = sent_prompt(
                        services, round_, user_id=user, channel=f"D{person}", ts="1.0"
                    )
                    row.team = team or None
                    session.add(row)
                    deliveries.append(row)
                    if index < len(answers):
                        session.add(
                            PulseAnswer(
                                round_id=round_.id,
                                respondent=handle(services, "answer", user, round_.id),
                                team=row.team,
                                score=answers[index],
                                acted_us=1,
                            )
                        )
            await session.flush()
            for index, visibility in enumerate(week.stories):
                user = f"U0S{index:03d}"
                session.add(
                    Anecdote(
                        id=random_id(),
                        round_id=round_.id,
                        rule_id=round_.rule_id,
                        author_ref=services.author_seal.seal(services.pseudonym(user, "slack")),
                        author_user_id=user if visibility is Visibility.NAMED else None,
                        visibility=visibility,
                        text=f"{visibility.value} story {week.period}",
                        source_id=f"V{week.period}{index}",
                    )
                )
            for index in range(week.reactions):
                delivery = deliveries[index % len(deliveries)]
                session.add(
                    Reaction(
                        round_id=round_.id,
                        reactor=f"r{index:03d}{delivery.recipient[:60]}",
                        team=delivery.team,
                        emoji=f"e{index}",
                    )
                )
    if not close:
        return
    async with services.transaction() as session:
        await close_ended_rounds(session=session, current_period=CURRENT, now=clock.now)
        await finalize_closed_rounds(session=session)


async def _report(
    services: Services, request: ReportRequest | None = None, **kwargs: object
) -> TrustReport:
    async with services.sessions() as session:
        return await build_trust_report(
            session=session,
            current_period=CURRENT,
            request=request or ReportRequest(8),
            min_group_size=5,
            rules=services.rules,
            **kwargs,  # type: ignore[arg-type]
        )


def _period(report: TrustReport, period: str):  # type: ignore[no-untyped-def]
    return next(p for p in report.periods if p.period == period)


async def test_closed_weeks_show_index_distribution_and_participation(
    services: Services, clock: FixedClock
) -> None:
    await _build(
        services,
        clock,
        [
            Week("2026-W46", scores={"": [5, 5, 4, 3, 1]}, silent={"": 5}, reactions=2),
            Week("2026-W47", scores={"": [4, 4, 4, 4, 4, 4]}),
        ],
    )

    report = await _report(services)

    w46 = _period(report, "2026-W46").figures
    assert (w46.respondents, w46.delivered, w46.participation) == (5, 10, 0.5)
    assert w46.average == pytest.approx(3.6)
    assert w46.index == pytest.approx(65.0)
    assert (w46.favourable, w46.neutral, w46.unfavourable) == (0.6, 0.2, 0.2)
    assert w46.reactions == 2
    w47 = _period(report, "2026-W47")
    assert w47.figures.index == pytest.approx(75.0)
    assert w47.change_previous == pytest.approx(10.0)
    assert report.overall.respondents == 11
    assert report.overall_change == pytest.approx(10.0)
    assert [p.period for p in report.periods] == recent_periods(CURRENT, 8)


async def test_the_open_week_shows_participation_so_far_and_no_score(
    services: Services, clock: FixedClock
) -> None:
    await _build(services, clock, [Week(CURRENT, scores={"": [5, 5, 5, 5, 5, 5]}, silent={"": 4})])

    week = _period(await _report(services), CURRENT)

    assert week.open
    assert (week.figures.respondents, week.figures.delivered) == (6, 10)
    assert week.figures.index is None
    assert week.figures.average is None
    assert week.figures.favourable is None


async def test_two_open_rounds_each_count_their_own_answers_per_team(
    services: Services, clock: FixedClock
) -> None:
    """Last week's round is still open (its close job has not run): both open weeks show
    their own participation, per team, from their own answers only."""
    await _build(
        services,
        clock,
        [
            Week(
                "2026-W47",
                scores={"Sales": [4] * 6, "Support": [3] * 5},
                silent={"Sales": 2, "Support": 1},
            ),
            Week(CURRENT, scores={"Sales": [5] * 5, "Support": [2] * 7}, silent={"Sales": 4}),
        ],
        close=False,
    )

    report = await _report(services)

    last, this = _period(report, "2026-W47"), _period(report, CURRENT)
    assert (last.open, this.open) == (True, True)
    assert (last.figures.respondents, last.figures.delivered) == (11, 14)
    assert (this.figures.respondents, this.figures.delivered) == (12, 16)
    assert {team: (f.respondents, f.delivered) for team, f in last.teams} == {
        "Sales": (6, 8),
        "Support": (5, 6),
    }
    assert {team: (f.respondents, f.delivered) for team, f in this.teams} == {
        "Sales": (5, 9),
        "Support": (7, 7),
    }
    assert last.figures.index is None
    assert this.figures.index is None


async def test_a_round_is_reported_with_its_rule_whether_or_not_it_has_aggregates(
    services: Services, clock: FixedClock
) -> None:
    """Rounds, rules and aggregates come in one query: a closed round whose aggregates are not
    written yet still shows its rule (hidden figures), beside aggregated and open rounds."""
    await _build(
        services,
        clock,
        [
            Week("2026-W46", scores={"Sales": [4] * 5, "Support": [2] * 5}),
            Week("2026-W47", scores={"": [5] * 6}),
            Week(CURRENT, scores={"": [3] * 5}, silent={"": 1}),
        ],
        close=False,
    )
    async with services.transaction() as session:  # W46 aggregated; W47 closed after that
        await close_ended_rounds(session=session, current_period="2026-W47", now=clock.now)
        await finalize_closed_rounds(session=session)
        await close_ended_rounds(session=session, current_period=CURRENT, now=clock.now)

    report = await _report(services)

    w46, w47, w48 = (_period(report, p) for p in ("2026-W46", "2026-W47", CURRENT))
    assert [w.rule.position if w.rule else None for w in (w46, w47, w48)] == [1, 2, 3]
    assert (w46.figures.respondents, w46.figures.index) == (10, 50.0)
    assert {team: f.index for team, f in w46.teams} == {"Sales": 75.0, "Support": 25.0}
    assert (w47.open, w47.figures.hidden) == (False, True)
    assert (w48.open, w48.figures.respondents, w48.figures.delivered) == (True, 5, 6)


async def test_a_small_week_hides_every_figure_and_its_stories(
    services: Services, clock: FixedClock
) -> None:
    await _build(
        services,
        clock,
        [
            Week("2026-W46", scores={"": [1, 2, 3, 4]}, stories=[Visibility.NAMED], reactions=3),
            Week(
                "2026-W47", scores={"": [4] * 5}, stories=[Visibility.ANONYMOUS, Visibility.PRIVATE]
            ),
        ],
    )

    report = await _report(services)

    hidden = _period(report, "2026-W46")
    assert hidden.figures.hidden
    assert (hidden.figures.reactions, hidden.figures.stories) == (None, None)
    assert [story.period for story in report.stories] == ["2026-W47"]  # private never, W46 hidden
    assert report.stories[0].author_user_id is None
    assert report.overall.respondents == 5  # the hidden week is not in the totals


async def test_a_viewer_who_answered_needs_one_more_besides_them(
    services: Services, clock: FixedClock
) -> None:
    await _build(services, clock, [Week("2026-W47", scores={"": [3, 3, 3, 3, 3]})])

    def viewer(round_id: int) -> str:  # the first person prompted, who answered
        return handle(services, "answer", "U0P0001", round_id)

    def someone_else(round_id: int) -> str:
        return handle(services, "answer", "U0NOBODY", round_id)

    assert _period(await _report(services), "2026-W47").figures.shown
    assert _period(await _report(services, viewer=viewer), "2026-W47").figures.hidden
    assert _period(await _report(services, viewer=someone_else), "2026-W47").figures.shown


async def test_teams_are_shown_with_complementary_suppression(
    services: Services, clock: FixedClock
) -> None:
    await _build(
        services,
        clock,
        [Week("2026-W47", scores={"Sales": [5] * 7, "Support": [2] * 6, "": [1, 1]})],
    )

    report = await _report(services)
    teams = dict(_period(report, "2026-W47").teams)

    assert teams[""].hidden  # two people in no team
    assert teams["Support"].hidden  # the next smallest, or total minus Sales would give them away
    assert teams["Sales"].index == 100.0
    only_sales = await _report(services, ReportRequest(8, team="Sales"))
    assert _period(only_sales, "2026-W47").figures.respondents == 7
    only_support = await _report(services, ReportRequest(8, team="Support"))
    assert _period(only_support, "2026-W47").figures.hidden


async def test_a_rule_filter_keeps_that_rules_weeks(services: Services, clock: FixedClock) -> None:
    weeks = [Week(period, scores={"": [4] * 5}) for period in recent_periods("2026-W47", 6)]
    await _build(services, clock, weeks)

    report = await _report(services, ReportRequest(8, rule=1))

    assert {p.rule.position for p in report.periods if p.rule} == {1}
    assert [p.period for p in report.periods if p.rule] == ["2026-W42", "2026-W47"]


async def test_a_falling_rule_raises_an_alert_with_its_numbers(
    services: Services, clock: FixedClock
) -> None:
    # Rule 1 is asked in weeks 1, 6 and 11 of the run: 85 -> 75 -> 55 in index points.
    periods = recent_periods("2026-W47", 11)
    scores = {
        periods[0]: [5, 5, 4, 4, 4],
        periods[5]: [4, 4, 4, 4, 4],
        periods[10]: [4, 3, 3, 3, 3],
    }
    await _build(services, clock, [Week(p, scores={"": scores.get(p, [4] * 5)}) for p in periods])

    report = await _report(services, ReportRequest(4))

    [alert] = [a for a in report.alerts if a.kind == "index_drop"]
    assert alert.rule is not None
    assert alert.rule.position == 1
    assert (alert.before, alert.after) == (pytest.approx(85.0), pytest.approx(55.0))
    assert alert.periods == (periods[0], periods[5], periods[10])
    assert alert.respondents == 5


async def test_collapsing_participation_raises_an_alert(
    services: Services, clock: FixedClock
) -> None:
    periods = recent_periods("2026-W47", 5)
    weeks = [Week(p, scores={"": [4] * 8}, silent={"": 2}) for p in periods[:-1]]
    weeks.append(Week(periods[-1], scores={"": [4] * 5}, silent={"": 15}))
    await _build(services, clock, weeks)

    alerts = (await _report(services)).alerts

    [alert] = [a for a in alerts if a.kind == "participation_drop"]
    assert (alert.before, alert.after) == (pytest.approx(0.8), pytest.approx(0.25))


async def test_the_chart_has_a_line_per_rule_with_hidden_points_marked(
    services: Services, clock: FixedClock
) -> None:
    periods = recent_periods("2026-W47", 6)
    weeks = [Week(p, scores={"": [4] * 5}) for p in periods]
    weeks[2] = Week(periods[2], scores={"": [4, 4]})
    await _build(services, clock, weeks)

    report = await _report(services)

    assert report.chart_periods == tuple(recent_periods(CURRENT, 12))
    by_rule = {series.rule.position: series for series in report.chart}
    week3 = report.chart_periods.index(periods[2])
    assert by_rule[3].points[week3] is None
    assert by_rule[3].hidden[week3] is True
    week1 = report.chart_periods.index(periods[0])
    assert by_rule[1].points[week1] == pytest.approx(75.0)
    assert not any(by_rule[2].hidden)
    assert report.chart_overall[week3] is None


async def test_aggregates_survive_purged_answers(services: Services, clock: FixedClock) -> None:
    await _build(services, clock, [Week("2026-W47", scores={"": [5] * 5})])
    async with services.transaction() as session:
        await session.execute(PulseAnswer.__table__.delete())

    report = await _report(services)

    assert _period(report, "2026-W47").figures.index == 100.0


async def test_retention_purges_old_raw_answers_and_keeps_their_figures(
    services: Services, clock: FixedClock
) -> None:
    """TRUSTBOT_RETENTION_WEEKS: raw answers (and reactions) of closed rounds older than that
    go; newer ones and the open round's stay; the weekly aggregates keep every figure."""
    await _build(
        services,
        clock,
        [
            Week("2026-W30", scores={"": [4] * 5}, reactions=2),  # 18 weeks before W48
            Week("2026-W40", scores={"": [2] * 5}),
            Week(CURRENT, scores={"": [3] * 5}),
        ],
    )
    before = await _report(services, ReportRequest(52))

    async with services.transaction() as session:
        purged = await purge_old_answers(session=session, now=clock.now, weeks=13)

    assert purged == 5
    async with services.sessions() as session:
        left = (
            await session.execute(
                select(Round.period, PulseAnswer.score)
                .join(PulseAnswer, PulseAnswer.round_id == Round.id)
                .order_by(Round.period)
            )
        ).all()
        reactions = (await session.execute(select(Reaction.reactor))).all()
    assert sorted({period for period, _ in left}) == ["2026-W40", CURRENT]
    assert reactions == []
    after = await _report(services, ReportRequest(52))
    assert _period(after, "2026-W30").figures == _period(before, "2026-W30").figures
    assert _period(after, "2026-W30").figures.index == 75.0


async def test_time_moves_nothing_in_a_closed_week(services: Services, clock: FixedClock) -> None:
    """Differencing over time: a closed week's figures are final."""
    await _build(services, clock, [Week("2026-W47", scores={"": [3] * 5})])
    before = _period(await _report(services), "2026-W47").figures
    async with services.transaction() as session:
        round_id = await session.scalar(select(Round.id).where(Round.period == "2026-W47"))
        session.add(PulseAnswer(round_id=round_id, respondent="late", score=1, acted_us=2))

    after = _period(await _report(services), "2026-W47").figures
    assert after == before
