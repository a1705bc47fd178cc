"""A curious leader's arithmetic on what reports show: each attack takes shown figures and
what the leader knows anyway (k, each team's size) and returns what it learns that it should
not (an empty list: nothing). Used by the `test_leader_*` tests and by the unit tests of
`core/figures.py`."""

from __future__ import annotations

from collections.abc import Mapping

from trustbot.core.figures import Figures
from trustbot.core.reports import TrustReport


def silence_bounds(
    whole: Figures, teams: Mapping[str, Figures], sizes: Mapping[str, int], blur: int
) -> dict[str, tuple[int, int]]:
    """Bounds on each team's number of people who did not answer, from the week's whole and
    its teams as shown (exact, a band, or hidden), knowing each team's size."""
    low: dict[str, int] = {}
    high: dict[str, int] = {}
    for team, size in sizes.items():
        figures = teams.get(team)
        if figures is not None and figures.shown and figures.exact:
            low[team] = high[team] = size - (figures.answered or 0)
        elif figures is not None and figures.shown:
            low[team], high[team] = 0, blur
        else:
            low[team], high[team] = 0, size
    if whole.shown:  # the teams' non-answers add up to the whole's: exactly, or at most
        most = (whole.delivered or 0) - (whole.answered or 0)
        least = most if whole.exact else 0
        for team in sizes:
            others = [other for other in sizes if other != team]
            low[team] = max(low[team], least - sum(high[other] for other in others))
            high[team] = min(high[team], most - sum(low[other] for other in others))
    return {team: (low[team], high[team]) for team in sizes}


def narrowed(
    bounds: Mapping[str, tuple[int, int]],
    silent: Mapping[str, int],
    sizes: Mapping[str, int],
    blur: int,
) -> dict[str, tuple[int, int]]:
    """The teams where fewer than k did not answer (`silent`, the truth) whose bounds rule out
    some number from none to k - 1: the leader learns who did or did not answer there."""
    found = {}
    for team, (low, high) in bounds.items():
        if silent[team] > blur:
            continue  # at least k did not answer: that may be known
        if low > 0 or high < min(blur, sizes[team]):
            found[team] = (low, high)
    return found


def exact_where_few_were_silent(report: TrustReport) -> list[str]:
    """Figures shown exactly although fewer than k of the group did not answer."""
    k = report.disclosure.min_group_size
    found = []

    def check(label: str, figures: Figures) -> None:
        if figures.shown and figures.exact:
            silent = (figures.delivered or 0) - (figures.answered or 0)
            if silent < k:
                found.append(f"{label}: {figures.answered}/{figures.delivered}")

    for period in report.periods:
        check(period.period, period.figures)
        for team, figures in period.teams:
            check(f"{period.period} {team}", figures)
    for rule in report.rules:
        check(f"rule {rule.rule.position}", rule.figures)
    check("overall", report.overall)
    return found


def differences_between_windows(reports: Mapping[int, TrustReport]) -> list[str]:
    """Reports over 1, 2, 3... weeks: where two neighbouring windows' totals are both exact,
    their difference is one week's exact number of answers; a finding when that week showed
    only a band."""
    found = []
    for weeks in sorted(reports):
        shorter = reports.get(weeks - 1)
        if shorter is None:
            continue
        longer = reports[weeks]
        if not (longer.overall.exact and shorter.overall.exact):
            continue
        added = longer.periods[0]  # the window's oldest week, not in the shorter one
        derived = (longer.overall.answered or 0) - (shorter.overall.answered or 0)
        if derived and added.figures.shown and not added.figures.exact:
            found.append(f"{added.period}: {derived} answered, shown only as a band")
    return found


def differences_between_rules(report: TrustReport, by_rule: Mapping[int, TrustReport]) -> list[str]:
    """The report's total minus each rule's: where all are exact, the rest's exact answers,
    compared with what the rest's weeks show."""
    found = []
    if not report.overall.exact:
        return found
    for position, own in by_rule.items():
        if not own.overall.exact:
            continue
        rest = [
            p
            for p in report.periods
            if p.rule is not None and p.rule.position != position and p.figures.shown
        ]
        derived = (report.overall.answered or 0) - (own.overall.answered or 0)
        if len(rest) == 1 and not rest[0].figures.exact:
            found.append(f"{rest[0].period}: {derived} answered, shown only as a band")
    return found


def bands_that_say_everyone_answered_alike(report: TrustReport) -> list[str]:
    """A band (nearly everyone answered) whose index is the very top or bottom of the scale:
    then every one of them gave a 5, or a 1."""
    found = []
    for period in report.periods:
        for label, figures in [(period.period, period.figures), *period.teams]:
            band = figures.shown and not figures.exact and not figures.index_bound
            if band and figures.index in (0.0, 100.0):
                found.append(f"{period.period} {label}: index {figures.index}")
    return found
