"""A curious leader who knows the teams (Dev: 7, Ops: 10, Sup: 6, themselves on Teams) reads every
report they can ask for, on every surface, and does arithmetic: exact counts where few did not
answer, the week minus its teams, one window minus a shorter one, the total minus a rule's,
a band at the very top of the scale, one surface against another. Each attack finds nothing
on trustbot's rules, and finds what it looks for on a deliberately weakened rule.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import FixedClock, empty
from tests.privacy import attacks
from tests.privacy.leader import DEV, OPS, TEAMS_LEADER, Company, company, unpaced
from trustbot.core import figures as figures_module
from trustbot.core import reports as reports_module
from trustbot.core.export import exported_aggregates
from trustbot.core.figures import Counts, Disclosure, RoundFigures, reveal, rounded_index
from trustbot.core.reports import ReportRequest, TrustReport
from trustbot.db.session import create_engine

OPS_ALL = [*OPS, "U0OPS08", "U0OPS09", "U0OPS10"]
SUP = [f"U0SUP{index:02d}" for index in range(1, 7)]
TEAMS = {"Dev": DEV, "Ops": OPS_ALL, "Sup": SUP}
SIZES = {"Dev": len(DEV), "Ops": len(OPS_ALL), "Sup": len(SUP), "": 1}
# Who answered, per week and team (the rest did not): the truth the attacks are checked on.
WEEKS: list[dict[str, list[tuple[Any, int]]]] = [
    {  # 2026-W45: Dev 6 of 7, Ops 7 of 10, everyone in Sup, the leader
        "Dev": [(p, 3) for p in DEV[:6]],
        "Ops": [(p, 4) for p in OPS_ALL[:7]],
        "Sup": [(p, 2) for p in SUP],
        "": [(TEAMS_LEADER, 2)],
    },
    {  # 2026-W46: everyone in Dev, and all gave 5; Ops 9 of 10; Sup 5 of 6; the leader
        "Dev": [(p, 5) for p in DEV],
        "Ops": [(p, 3) for p in OPS_ALL[:9]],
        "Sup": [(p, 4) for p in SUP[:5]],
        "": [(TEAMS_LEADER, 4)],
    },
    {  # 2026-W47: Dev 5, Ops 5, Sup 3; not the leader
        "Dev": [(p, 4) for p in DEV[:5]],
        "Ops": [(p, 2) for p in OPS_ALL[:5]],
        "Sup": [(p, 3) for p in SUP[:3]],
        "": [],
    },
]
PERIODS = ["2026-W45", "2026-W46", "2026-W47"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lean(module_database_url: str) -> AsyncIterator[Company]:
    """Dev, Ops and Sup on Slack; on Teams, only the leader (who answers there). The module's
    tests share it: they only read (the weakened rules are undone after each test)."""
    engine = create_engine(module_database_url)
    try:
        await empty(engine)
    finally:
        await engine.dispose()
    clock = FixedClock(datetime(2026, 11, 26, 10, 0, tzinfo=UTC), ticking=True)
    with pytest.MonkeyPatch.context() as monkeypatch:
        unpaced(monkeypatch)
        async with company(
            module_database_url, clock, teams=TEAMS, teams_people=[TEAMS_LEADER]
        ) as running:
            running.clock.now -= timedelta(weeks=len(WEEKS))
            for week in WEEKS:
                await running.prompt()
                await running.answer([answer for answers in week.values() for answer in answers])
                await running.next_week()
            await running.prompt()  # 2026-W48, open
            yield running


async def what_the_leader_reads(firm: Company) -> dict[str, Any]:
    """Every report the core gives every surface, for every argument a leader can pass."""
    return {
        "default": await firm.core_report(),
        "weeks": {w: await firm.core_report(ReportRequest(w)) for w in range(1, 13)},
        "rules": {r: await firm.core_report(ReportRequest(8, rule=r)) for r in range(1, 6)},
        "teams": {t: await firm.core_report(ReportRequest(8, team=t)) for t in TEAMS},
    }


def attack(seen: dict[str, Any]) -> dict[str, list[str]]:
    """Every attack on everything read: what each one learns."""
    reports: list[TrustReport] = [
        seen["default"],
        *seen["weeks"].values(),
        *seen["rules"].values(),
        *seen["teams"].values(),
    ]
    default: TrustReport = seen["default"]
    blur = default.disclosure.blur
    found: dict[str, list[str]] = {
        "exact where few were silent": [
            finding for report in reports for finding in attacks.exact_where_few_were_silent(report)
        ],
        "the week minus its teams": [],
        "one window minus another": attacks.differences_between_windows(seen["weeks"]),
        "the total minus a rule": attacks.differences_between_rules(default, seen["rules"]),
        "a band that says all answered alike": [
            finding
            for report in reports
            for finding in attacks.bands_that_say_everyone_answered_alike(report)
        ],
    }
    for week, period in zip(WEEKS, PERIODS, strict=True):
        shown = next(p for p in default.periods if p.period == period)
        silent = {team: SIZES[team] - len(week[team]) for team in SIZES}
        bounds = attacks.silence_bounds(shown.figures, dict(shown.teams), SIZES, blur)
        for team, (low, high) in attacks.narrowed(bounds, silent, SIZES, blur).items():
            found["the week minus its teams"].append(f"{period} {team!r}: {low}-{high} silent")
    return {name: findings for name, findings in found.items() if findings}


def _no_band(min_group_size: int) -> Disclosure:
    """Exact figures everywhere, k + 1 answers (what trustbot had, but for the reader)."""
    k = min_group_size
    return Disclosure(min_group_size=k, min_answers=k + 1, min_asked=k + 1, blur=-1)


def _whole_from_its_own_counts(
    original: Callable[..., RoundFigures],
) -> Callable[..., RoundFigures]:
    def weakened(parts: Any, disclosure: Disclosure, *, activity: Counts | None = None) -> Any:
        decided = original(parts, disclosure, activity=activity)
        return replace(decided, whole=reveal(sum(parts.values(), Counts()), disclosure))

    return weakened


def _band_ends_as_they_are(score_sum: int, respondents: int, at_least: int) -> tuple[float, str]:
    return rounded_index(score_sum, respondents, figures_module.index_step(at_least)), ""


WEAKENED: dict[str, tuple[str, Callable[[pytest.MonkeyPatch], None]]] = {
    "no band": (
        "exact where few were silent",
        lambda mp: mp.setattr(reports_module, "disclosure_for", _no_band),
    ),
    "the whole from its own counts": (
        "the week minus its teams",
        lambda mp: mp.setattr(
            reports_module,
            "round_figures",
            _whole_from_its_own_counts(reports_module.round_figures),
        ),
    ),
    "band ends shown as they are": (
        "a band that says all answered alike",
        lambda mp: mp.setattr(figures_module, "banded_index", _band_ends_as_they_are),
    ),
}


@pytest.mark.asyncio(loop_scope="module")
async def test_arithmetic_on_every_report_learns_nothing(lean: Company) -> None:
    seen = await what_the_leader_reads(lean)

    assert attack(seen) == {}
    # The weeks the attacks work on are really shown (as bands, or exact), not just hidden.
    shown = {p.period: p for p in seen["default"].periods}
    assert [shown[period].figures.shown for period in PERIODS] == [True, True, True]
    assert any(f.shown for _, f in shown["2026-W46"].teams)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("weakened", list(WEAKENED))
async def test_each_attack_finds_what_a_weakened_rule_gives_away(
    lean: Company, monkeypatch: pytest.MonkeyPatch, weakened: str
) -> None:
    expected, weaken = WEAKENED[weakened]
    weaken(monkeypatch)

    found = attack(await what_the_leader_reads(lean))

    assert found.get(expected), found


def test_the_window_and_rule_attacks_find_an_exact_total_over_a_band() -> None:
    """The arithmetic of the two attacks that trustbot's combined figures (added up from what
    the weeks show, a band as its lower end) never let work, on reports made up to do so."""
    from tests.factories import sample_report

    report = sample_report(weeks=2)  # one closed week (exact), one open
    band = replace(report.periods[0].figures, exact=False, answered=5)
    shorter = replace(report, periods=report.periods[1:])
    longer = replace(
        report, periods=(replace(report.periods[0], figures=band), *report.periods[1:])
    )
    exact_total = replace(report.overall, exact=True, answered=12)

    found = attacks.differences_between_windows(
        {
            1: replace(shorter, overall=replace(exact_total, answered=7)),
            2: replace(longer, overall=exact_total),
        }
    )

    assert found == [f"{report.periods[0].period}: 5 answered, shown only as a band"]


@pytest.mark.asyncio(loop_scope="module")
async def test_every_surface_shows_the_same_figures(lean: Company) -> None:
    """Report, Teams report, digest, `trustbot report` and aggregates.csv: the same week rows
    (nothing to gain from reading one against another)."""
    seen = await lean.everything()

    weeks = {period: _row(seen["slack /trust-report "], period) for period in PERIODS}
    for surface in ("teams trust-report ", "digest", "trustbot report"):
        for period in PERIODS[-2:]:  # the digest shows the last four weeks
            assert _row(seen[surface], period) == weeks[period], (surface, period)
    rows, _, exact = await exported_aggregates(lean.services)
    report = await lean.core_report()
    for row in rows:
        if row[2] == "":  # the whole week
            shown = next(p for p in report.periods if p.period == row[0]).figures
            assert row[4] == (str(shown.answered) if shown.shown else ""), row
    # Raw answers (their number is the week's exact count) only of weeks shown exactly.
    exact_weeks = [p.period for p in report.periods if p.figures.shown and p.figures.exact]
    assert len(exact) == len(exact_weeks) == 1


def _row(text: str, period: str) -> list[str]:
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().split("  ") if cell.strip()]
        if cells and cells[0] == period:
            return cells
    raise AssertionError(f"no row for {period}")
