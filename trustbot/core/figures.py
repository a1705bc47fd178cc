"""Figures that cannot be shown without passing the anonymity threshold.

Everything a report shows about a group of people (a round, a team in a round, several rounds
together) is a `Figures`, and the only ways to make one are `reveal`, which hides every figure
of a group smaller than the threshold, and `protect_parts`, which also hides enough of a
partition's other parts that "the whole minus the parts shown" never gives away a hidden group.
Renderers get `None` for every hidden value; they cannot reach the counts behind it.

Figures over several groups (a rule over eight weeks, a team over a quarter) are added up from
shown groups only (`combine`), so they are a function of what is shown and reveal nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True, slots=True)
class Counts:
    """Raw counts of one group: never leaves the core."""

    delivered: int = 0
    respondents: int = 0
    score_sum: int = 0
    by_score: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    reactions: int = 0
    stories: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            delivered=self.delivered + other.delivered,
            respondents=self.respondents + other.respondents,
            score_sum=self.score_sum + other.score_sum,
            by_score=tuple(a + b for a, b in zip(self.by_score, other.by_score, strict=True)),  # type: ignore[arg-type]
            reactions=self.reactions + other.reactions,
            stories=self.stories + other.stories,
        )


@dataclass(frozen=True, slots=True)
class Figures:
    """What may be shown of a group. When `hidden`, every value is None."""

    hidden: bool
    respondents: int | None = None
    delivered: int | None = None
    average: float | None = None  # 1-5
    index: float | None = None  # 0-100: the average mapped from 1-5
    favourable: float | None = None  # share of 4-5
    neutral: float | None = None  # share of 3
    unfavourable: float | None = None  # share of 1-2
    participation: float | None = None  # respondents / delivered
    reactions: int | None = None
    stories: int | None = None
    # Kept for combining shown groups; None when hidden, like everything else.
    counts: Counts | None = None

    @property
    def shown(self) -> bool:
        """Whether the group's figures may be shown."""
        return not self.hidden


HIDDEN = Figures(hidden=True)


def index_of(average: float) -> float:
    """The trust index 0-100 of an average score 1-5."""
    return (average - 1.0) / 4.0 * 100.0


def reveal(counts: Counts, *, threshold: int) -> Figures:
    """The group's figures, or HIDDEN when fewer than `threshold` people answered."""
    if counts.respondents < threshold:
        return HIDDEN
    n = counts.respondents
    average = counts.score_sum / n
    one, two, three, four, five = counts.by_score
    return Figures(
        hidden=False,
        respondents=n,
        delivered=counts.delivered,
        average=average,
        index=index_of(average),
        favourable=(four + five) / n,
        neutral=three / n,
        unfavourable=(one + two) / n,
        participation=n / counts.delivered if counts.delivered else None,
        reactions=counts.reactions,
        stories=counts.stories,
        counts=counts,
    )


def protect_parts(
    parts: Mapping[str, Counts], *, threshold: int, whole_shown: bool
) -> dict[str, Figures]:
    """Figures of the parts of a whole (the teams of a round, say).

    A part below the threshold is hidden. When the whole is shown, the parts hidden together
    must also reach the threshold, or `whole - shown parts` would reveal them: the smallest
    shown parts are hidden too until they do.
    """
    hidden = {key for key, counts in parts.items() if counts.respondents < threshold}
    if whole_shown:
        shown_by_size = sorted(
            (key for key in parts if key not in hidden),
            key=lambda key: (parts[key].respondents, key),
        )
        while hidden and _respondents(parts, hidden) < threshold and shown_by_size:
            hidden.add(shown_by_size.pop(0))
    return {
        key: HIDDEN if key in hidden else reveal(counts, threshold=threshold)
        for key, counts in parts.items()
    }


def _respondents(parts: Mapping[str, Counts], keys: Iterable[str]) -> int:
    return sum(parts[key].respondents for key in keys)


def combine(figures: Iterable[Figures], *, threshold: int) -> Figures:
    """One group's figures out of several shown groups (hidden ones are left out)."""
    total = Counts()
    for figure in figures:
        if figure.counts is not None:
            total = total + figure.counts
    return reveal(total, threshold=threshold)


def open_round_figures(delivered: int, respondents: int, *, threshold: int) -> Figures:
    """A round still open shows how many answered so far, never a score figure."""
    if respondents < threshold:
        return HIDDEN
    return Figures(
        hidden=False,
        respondents=respondents,
        delivered=delivered,
        participation=respondents / delivered if delivered else None,
    )
