"""The trust report: closed weeks from aggregates, nothing of an open week, the disclosure rules
on every figure, teams, rules, alerts, stories and the chart series."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import FixedClock
from tests.factories import handle, sent_prompt
from trustbot.core.aggregates import finalize_closed_rounds, purge_old_answers
from trustbot.core.figures import HIDDEN, Counts, disclosure_for
from trustbot.core.periods import recent_periods
from trustbot.core.privacy import random_id
from trustbot.core.reports import (
    DEFAULT_WEEKS,
    MAX_WEEKS,
    ReportArgumentError,
    ReportRequest,
    RoundCounts,
    TrustReport,
    build_trust_report,
    decide_report,
    parse_report_arguments,
    story_round_ids,
)
from trustbot.core.rounds import close_ended_rounds, open_round
from trustbot.core.rules import CALL_ME_WAY
from trustbot.core.services import Services
from trustbot.db.models import Anecdote, PulseAnswer, Reaction, Round
from trustbot.kinds import Visibility

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
                        author_ref=services.keys.author_seal.seal(
                            services.keys.pseudonym(user, "slack")
                        ),
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


async def _report(services: Services, request: ReportRequest | None = None) -> TrustReport:
    async with services.sessions() as session:
        return await build_trust_report(
            session=session,
            current_period=CURRENT,
            request=request or ReportRequest(8),
            min_group_size=5,  # a group needs 6 answers and 10 asked; a band blurs 4
            rules=services.rules,
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
            Week("2026-W46", scores={"": [5, 5, 4, 4, 3, 3]}, silent={"": 6}, reactions=2),
            Week("2026-W47", scores={"": [4] * 10}),
        ],
    )

    report = await _report(services)

    w46 = _period(report, "2026-W46").figures  # six of twelve did not answer: exact
    assert (w46.answered, w46.exact, w46.delivered, w46.participation) == (6, True, 12, 0.5)
    assert w46.index == 75.0
    assert (w46.favourable, w46.neutral, w46.unfavourable) == (0.67, 0.33, 0.0)
    assert w46.reactions == 2
    w47 = _period(report, "2026-W47")  # all ten answered: a band, "at least 6 of 10"
    assert (w47.figures.answered, w47.figures.exact, w47.figures.delivered) == (6, False, 10)
    assert (w47.figures.index, w47.figures.favourable) == (75.0, None)
    assert w47.change_previous == 0.0
    assert (report.overall.answered, report.overall.exact) == (12, False)
    assert report.overall_change == 0.0
    assert [p.period for p in report.periods] == recent_periods(CURRENT, 8)


async def test_the_open_week_shows_nothing_but_that_it_is_open(
    services: Services, clock: FixedClock
) -> None:
    """Not even how many answered so far: polled through the week, a count would time each
    answer."""
    await _build(
        services,
        clock,
        [Week(CURRENT, scores={"Sales": [5] * 8, "Support": [2] * 8}, silent={"Sales": 4})],
    )

    week = _period(await _report(services), CURRENT)

    assert week.open
    assert week.figures == HIDDEN
    assert week.teams == ()


async def test_two_open_rounds_show_nothing_either(services: Services, clock: FixedClock) -> None:
    """Last week's round is still open (its close job has not run): neither open week shows
    any figure, per team or in total."""
    await _build(
        services,
        clock,
        [
            Week("2026-W47", scores={"Sales": [4] * 8, "Support": [3] * 7}, silent={"Sales": 6}),
            Week(CURRENT, scores={"Sales": [5] * 7, "Support": [2] * 9}, silent={"Sales": 5}),
        ],
        close=False,
    )

    report = await _report(services)

    last, this = _period(report, "2026-W47"), _period(report, CURRENT)
    assert (last.open, this.open) == (True, True)
    assert (last.figures, this.figures) == (HIDDEN, HIDDEN)
    assert (last.teams, this.teams) == ((), ())
    assert report.overall == HIDDEN


async def test_a_round_is_reported_with_its_rule_whether_or_not_it_has_aggregates(
    services: Services, clock: FixedClock
) -> None:
    """Rounds, rules and aggregates come in one query: a closed round whose aggregates are not
    written yet still shows its rule (hidden figures), beside aggregated and open rounds."""
    await _build(
        services,
        clock,
        [
            Week(
                "2026-W46",
                scores={"Sales": [4] * 6, "Support": [2] * 6},
                silent={"Sales": 6, "Support": 6},
            ),
            Week("2026-W47", scores={"": [5] * 10}),
            Week(CURRENT, scores={"": [3] * 10}, silent={"": 1}),
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
    assert (w46.figures.answered, w46.figures.exact, w46.figures.index) == (12, True, 50.0)
    assert {team: f.index for team, f in w46.teams} == {"Sales": 75.0, "Support": 25.0}
    assert (w47.open, w47.figures.hidden) == (False, True)
    assert (w48.open, w48.figures) == (True, HIDDEN)


async def test_a_small_week_hides_every_figure_and_its_stories(
    services: Services, clock: FixedClock
) -> None:
    await _build(
        services,
        clock,
        [
            Week(
                "2026-W46",
                scores={"": [1, 2, 3, 4, 5]},
                silent={"": 8},
                stories=[Visibility.NAMED],
                reactions=3,
            ),
            Week(
                "2026-W47",
                scores={"": [4] * 6},
                silent={"": 6},
                stories=[Visibility.ANONYMOUS, Visibility.PRIVATE],
            ),
        ],
    )

    report = await _report(services)

    hidden = _period(report, "2026-W46")
    assert hidden.figures.hidden
    assert (hidden.figures.reactions, hidden.figures.stories) == (None, None)
    assert [story.period for story in report.stories] == ["2026-W47"]  # private never, W46 hidden
    assert report.stories[0].author_user_id is None
    assert report.overall.answered == 6  # the hidden week is not in the totals


async def test_stories_of_an_open_week_wait_until_it_closes(
    services: Services, clock: FixedClock
) -> None:
    await _build(
        services,
        clock,
        [Week(CURRENT, scores={"": [4] * 10}, stories=[Visibility.NAMED, Visibility.ANONYMOUS])],
    )

    assert (await _report(services)).stories == ()
    clock.now += timedelta(weeks=1)
    async with services.transaction() as session:
        await close_ended_rounds(session=session, current_period="2026-W49", now=clock.now)
        await finalize_closed_rounds(session=session)
    async with services.sessions() as session:
        closed = await build_trust_report(
            session=session,
            current_period="2026-W49",
            request=ReportRequest(8),
            min_group_size=5,
            rules=services.rules,
        )
    assert sorted(story.text for story in closed.stories) == [
        f"anonymous story {CURRENT}",
        f"named story {CURRENT}",
    ]


async def test_a_week_just_at_the_rules_is_shown_to_everyone(
    services: Services, clock: FixedClock
) -> None:
    """k + 1 answers of 2k asked: shown, the same to every reader (there is no reader to pass)."""
    await _build(services, clock, [Week("2026-W47", scores={"": [3] * 6}, silent={"": 4})])

    week = _period(await _report(services), "2026-W47").figures

    assert (week.answered, week.exact, week.delivered, week.index) == (6, False, 10, 50.0)
    assert "viewer" not in inspect.signature(build_trust_report).parameters


async def test_teams_are_shown_with_complementary_suppression(
    services: Services, clock: FixedClock
) -> None:
    await _build(
        services,
        clock,
        [
            Week(
                "2026-W47",
                scores={"Sales": [5] * 12, "Support": [2] * 10, "": [1, 1]},
                silent={"Sales": 6, "Support": 2},
            )
        ],
    )

    report = await _report(services)
    teams = dict(_period(report, "2026-W47").teams)

    assert teams[""].hidden  # two people in no team
    assert teams["Support"].hidden  # the next smallest, or total minus Sales would give them away
    assert (teams["Sales"].answered, teams["Sales"].index) == (12, 100.0)
    only_sales = await _report(services, ReportRequest(8, team="Sales"))
    assert _period(only_sales, "2026-W47").figures.answered == 12
    only_support = await _report(services, ReportRequest(8, team="Support"))
    assert _period(only_support, "2026-W47").figures.hidden


async def test_a_rule_filter_keeps_that_rules_weeks(services: Services, clock: FixedClock) -> None:
    weeks = [Week(period, scores={"": [4] * 10}) for period in recent_periods("2026-W47", 6)]
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
        periods[0]: [5] * 4 + [4] * 6,
        periods[5]: [4] * 10,
        periods[10]: [3] * 8 + [4] * 2,
    }
    await _build(
        services,
        clock,
        [Week(p, scores={"": scores.get(p, [4] * 10)}, silent={"": 6}) for p in periods],
    )

    report = await _report(services, ReportRequest(4))

    [alert] = [a for a in report.alerts if a.kind == "index_drop"]
    assert alert.rule is not None
    assert alert.rule.position == 1
    assert (alert.before, alert.after) == (85.0, 55.0)
    assert alert.periods == (periods[0], periods[5], periods[10])
    assert (alert.answered, alert.exact) == (10, True)


async def test_collapsing_participation_raises_an_alert(
    services: Services, clock: FixedClock
) -> None:
    """Weeks where 8 of 10 answered show "at least 60%"; a week where 6 of 21 answered shows
    29%: a fall from at least 60%."""
    periods = recent_periods("2026-W47", 5)
    weeks = [Week(p, scores={"": [4] * 8}, silent={"": 2}) for p in periods[:-1]]
    weeks.append(Week(periods[-1], scores={"": [4] * 6}, silent={"": 15}))
    await _build(services, clock, weeks)

    alerts = (await _report(services)).alerts

    [alert] = [a for a in alerts if a.kind == "participation_drop"]
    assert (alert.before, alert.after, alert.before_exact) == (0.6, 0.29, False)


async def test_no_participation_alert_on_a_band(services: Services, clock: FixedClock) -> None:
    """A band's rate is a lower bound: a fall to it could be no fall at all."""
    periods = recent_periods("2026-W47", 5)
    weeks = [Week(p, scores={"": [4] * 10}, silent={"": 10}) for p in periods[:-1]]
    weeks.append(Week(periods[-1], scores={"": [4] * 10}))  # "at least 60%": not a fall
    await _build(services, clock, weeks)

    assert [a for a in (await _report(services)).alerts if a.kind == "participation_drop"] == []


async def test_the_chart_has_a_line_per_rule_with_hidden_points_marked(
    services: Services, clock: FixedClock
) -> None:
    periods = recent_periods("2026-W47", 6)
    weeks = [Week(p, scores={"": [4] * 6}, silent={"": 6}) for p in periods]
    weeks[2] = Week(periods[2], scores={"": [4, 4]}, silent={"": 8})
    await _build(services, clock, weeks)

    report = await _report(services)

    assert report.chart_periods == tuple(recent_periods(CURRENT, 12))
    by_rule = {series.rule.position: series for series in report.chart}
    week3 = report.chart_periods.index(periods[2])
    assert by_rule[3].points[week3] is None
    assert by_rule[3].hidden[week3] is True
    week1 = report.chart_periods.index(periods[0])
    assert by_rule[1].points[week1] == 75.0
    assert not any(by_rule[2].hidden)
    assert report.chart_overall[week3] is None


async def test_aggregates_survive_purged_answers(services: Services, clock: FixedClock) -> None:
    await _build(services, clock, [Week("2026-W47", scores={"": [5] * 6}, silent={"": 6})])
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
            Week("2026-W30", scores={"": [4] * 6}, silent={"": 6}, reactions=2),  # 18 weeks back
            Week("2026-W40", scores={"": [2] * 6}, silent={"": 6}),
            Week(CURRENT, scores={"": [3] * 6}, silent={"": 6}),
        ],
    )
    before = await _report(services, ReportRequest(52))

    async with services.transaction() as session:
        purged = await purge_old_answers(session=session, now=clock.now, weeks=13)

    assert purged == 6
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
    await _build(services, clock, [Week("2026-W47", scores={"": [3] * 6}, silent={"": 6})])
    before = _period(await _report(services), "2026-W47").figures
    async with services.transaction() as session:
        round_id = await session.scalar(select(Round.id).where(Round.period == "2026-W47"))
        session.add(PulseAnswer(round_id=round_id, respondent="late", score=1, acted_us=2))

    after = _period(await _report(services), "2026-W47").figures
    assert after == before


def test_decide_report_is_a_function_of_the_rounds_counts() -> None:
    """The report's every figure from plain counts, without a database or a reader."""
    rule = CALL_ME_WAY[0]
    rounds = [
        RoundCounts(
            1,
            "2026-W47",
            rule,
            open=False,
            parts={"": Counts(delivered=12, respondents=6, score_sum=24, by_score=(0, 0, 0, 6, 0))},
            activity=Counts(reactions=1, stories=2),
        ),
        RoundCounts(2, CURRENT, CALL_ME_WAY[1], open=True),
    ]

    report = decide_report(
        rounds,
        request=ReportRequest(4),
        current_period=CURRENT,
        disclosure=disclosure_for(5),
        rules=CALL_ME_WAY,
    )

    w47 = _period(report, "2026-W47").figures
    assert (w47.answered, w47.exact, w47.index, w47.stories) == (6, True, 75.0, 2)
    assert _period(report, CURRENT).open
    assert story_round_ids(report, rounds) == [1]
    assert report == decide_report(
        rounds,
        request=ReportRequest(4),
        current_period=CURRENT,
        disclosure=disclosure_for(5),
        rules=CALL_ME_WAY,
    )
