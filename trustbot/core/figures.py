"""Figures that cannot be shown without passing the disclosure rules, the same for everyone.

Everything a report shows about a group of people (a round, a team in a round, several rounds
together) is a `Figures`, and the only ways to make one are `reveal`, `round_figures` (a round
and its teams, protected against subtraction) and `combine` (several shown groups together).
Renderers get displayed values only: hidden ones are None, and no raw count leaves this module.

The rules (`Disclosure`, made from k = TRUSTBOT_MIN_GROUP_SIZE by `disclosure_for`) are one set
for every viewer, surface and round; nothing here knows who is looking:

* a group is shown only with at least k + 1 answers, so a reader who answered still sees k
  others, and at least 2k people asked, so that k - 1 of them may not have answered;
* participation is exact only when at least k people did not answer; otherwise it is a band
  ("at least N of M", N = M - (k - 1)) that cannot tell whether none or up to k - 1 did not;
* a banded group shows no shares (a share's fraction would pin the number who answered) and its
  index is rounded to a step wide enough that every count in the band could have made it
  (`index_step`), with its top and bottom steps shown as bounds ("≥87", "≤13"), so that no
  shown index says everyone in the group gave the same answer, or answers of one kind;
* combined figures are computed from displayed figures only, so they reveal nothing more.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

SCORES = (1, 2, 3, 4, 5)
INDEX_STEPS = (1, 2, 5, 10, 25)  # each divides 100, so 0 and 100 are always shown values


@dataclass(frozen=True, slots=True)
class Disclosure:
    """What a group must pass to be shown, and how much a band blurs: one set for everyone."""

    min_group_size: int  # k
    min_answers: int  # k + 1: a reader who answered still sees k others
    min_asked: int  # 2k: room for k - 1 non-answers above the k + 1 answers
    blur: int  # k - 1: how many non-answers a band keeps indistinguishable from none

    def passes(self, counts: Counts) -> bool:
        """Whether a group this size may be shown at all."""
        return counts.respondents >= self.min_answers and counts.delivered >= self.min_asked


def disclosure_for(min_group_size: int) -> Disclosure:
    """The rules for k = TRUSTBOT_MIN_GROUP_SIZE: the only threshold any surface applies."""
    k = min_group_size
    return Disclosure(min_group_size=k, min_answers=k + 1, min_asked=2 * k, blur=k - 1)


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
    """What may be shown of a group, as displayed. When `hidden`, every value is None."""

    hidden: bool
    answered: int | None = None  # exact when `exact`, else the band's lower end
    exact: bool = False  # whether `answered` and `participation` are exact or lower bounds
    delivered: int | None = None
    index: float | None = None  # 0-100: a multiple of `index_step`, or a bound (`index_bound`)
    index_step: int = 1
    index_bound: str = ""  # "at_least" or "at_most": `index` is a bound (a band's extremes)
    favourable: float | None = None  # share of 4-5, whole percent; None for a band
    neutral: float | None = None  # share of 3
    unfavourable: float | None = None  # share of 1-2
    participation: float | None = None  # answered / delivered, whole percent (floor for a band)
    reactions: int | None = None  # the whole round's only
    stories: int | None = None  # the whole round's only

    @property
    def shown(self) -> bool:
        """Whether the group's figures may be shown."""
        return not self.hidden


HIDDEN = Figures(hidden=True)


def index_step(answered_at_least: int) -> int:
    """The coarsest rounding a band needs: with n answers the average moves in steps of 1/n,
    i.e. 25/n index points, so a step of at least 25/n holds a value for every n in the band."""
    return next(step for step in INDEX_STEPS if step * answered_at_least >= 25)


def rounded_index(score_sum: int, respondents: int, step: int) -> float:
    """The trust index 0-100 of a group (average 1-5 mapped), rounded half up to `step`, in
    integers: the same value for the same counts on every platform."""
    # 25 * (sum / n - 1) / step + 1/2, floored
    doubled = 50 * (score_sum - respondents) + respondents * step
    return float(step * (doubled // (2 * respondents * step)))


def banded_index(score_sum: int, respondents: int, at_least: int) -> tuple[float, str]:
    """A band's index and whether it is a bound: rounded to `index_step(at_least)`, and near
    the ends of the scale (what rounds to `top` or more, to `bottom` or less) a bound that
    holds: "at least" top - step/2, "at most" bottom + step/2.

    `top` is where one 3 among otherwise 5s still lands for every count in the band (100 - 50/n
    index points, n at its smallest), `bottom` likewise for one 3 among 1s: so no shown value
    says that everyone answered alike, or that everyone was favourable (or unfavourable).
    """
    step = index_step(at_least)
    top = step * ((100 * at_least - 50) // (at_least * step))
    bottom = step * -(-50 // (at_least * step))
    value = rounded_index(score_sum, respondents, step)
    # What rounds to `top` or above was at least top - step/2 (floored: a bound must hold).
    if value >= top:
        return float((2 * top - step) // 2), "at_least"
    if value <= bottom:
        return float(-(-(2 * bottom + step) // 2)), "at_most"
    return value, ""


def whole_percent(part: int, whole: int) -> float:
    """part / whole as a share rounded half up to a whole percent."""
    return ((200 * part + whole) // (2 * whole)) / 100


def reveal(counts: Counts, disclosure: Disclosure, *, activity: bool = True) -> Figures:
    """The group's figures as they may be shown: hidden, exact, or banded.

    `activity` (reactions, stories) is shown for a whole round only: per team, a story count
    would say which team an anonymous story came from.
    """
    if not disclosure.passes(counts):
        return HIDDEN
    n, asked = counts.respondents, counts.delivered
    reactions = counts.reactions if activity else None
    stories = counts.stories if activity else None
    if asked - n > disclosure.blur:  # at least k did not answer: exact
        one, two, three, four, five = counts.by_score
        return Figures(
            hidden=False,
            answered=n,
            exact=True,
            delivered=asked,
            index=rounded_index(counts.score_sum, n, 1),
            favourable=whole_percent(four + five, n),
            neutral=whole_percent(three, n),
            unfavourable=whole_percent(one + two, n),
            participation=whole_percent(n, asked),
            reactions=reactions,
            stories=stories,
        )
    at_least = asked - disclosure.blur
    step = index_step(at_least)
    index, bound = banded_index(counts.score_sum, n, at_least)
    return Figures(
        hidden=False,
        answered=at_least,
        exact=False,
        delivered=asked,
        index=index,
        index_step=step,
        index_bound=bound,
        participation=(100 * at_least // asked) / 100,
        reactions=reactions,
        stories=stories,
    )


def protected_parts(parts: Mapping[str, Counts], disclosure: Disclosure) -> set[str]:
    """The parts of a shown whole to hide: those too small, and then the smallest shown ones
    until the hidden ones together are a group that could be shown itself (`whole - shown
    parts` gives it away) and that pins no hidden part (`pins_a_part`)."""
    hidden = {key for key, counts in parts.items() if not disclosure.passes(counts)}
    shown_by_size = sorted(
        (key for key in parts if key not in hidden), key=lambda key: (parts[key].respondents, key)
    )
    while hidden and shown_by_size and not _safe_rest(parts, hidden, disclosure):
        hidden.add(shown_by_size.pop(0))
    return hidden


def _safe_rest(parts: Mapping[str, Counts], hidden: set[str], disclosure: Disclosure) -> bool:
    rest = _total(parts, hidden)
    return disclosure.passes(rest) and not pins_a_part(parts, hidden, disclosure)


def pins_a_part(parts: Mapping[str, Counts], keys: Iterable[str], disclosure: Disclosure) -> bool:
    """Whether the exact number who did not answer in these parts together would bound one
    part's from below: with m non-answers among them and the others' sizes known, a part has
    at least m - (the others' size) of its own; none when the answers are at least as many as
    the biggest part has people (a band tells no exact number, so it pins nothing)."""
    keys = [key for key in keys if parts[key].delivered]  # an empty part has nothing to pin
    together = _total(parts, keys)
    if len(keys) < 2 or together.delivered - together.respondents <= disclosure.blur:
        return False
    return together.respondents < max(parts[key].delivered for key in keys)


def _total(parts: Mapping[str, Counts], keys: Iterable[str]) -> Counts:
    return sum((parts[key] for key in keys), Counts())


@dataclass(frozen=True, slots=True)
class RoundFigures:
    """A round as it may be shown: the whole, and each part (team)."""

    whole: Figures
    parts: dict[str, Figures]


def round_figures(
    parts: Mapping[str, Counts], disclosure: Disclosure, *, activity: Counts | None = None
) -> RoundFigures:
    """A closed round's whole and parts, protected against subtraction.

    The whole is its own exact figures where they bound no part's non-answers beyond what the
    part shows (`_exact_whole_tells_no_part`). Otherwise it is computed from a partition's
    displayed figures (the shown parts, and the hidden ones together as one group, which passes
    the rules by `protected_parts`): an exact total minus exact parts would give the rest's
    exact numbers. Where fewer than k did not answer in all, the week's answered count is its
    own band.
    `activity` (the whole round's reactions and stories) is added to the whole.
    """
    whole_counts = _total(parts, parts)
    hidden = protected_parts(parts, disclosure)
    if not disclosure.passes(whole_counts) or (
        len(hidden) == len(parts) and pins_a_part(parts, parts, disclosure)
    ):
        return RoundFigures(HIDDEN, dict.fromkeys(parts, HIDDEN))
    shown = {
        key: reveal(parts[key], disclosure, activity=False) for key in parts if key not in hidden
    }
    partition = list(shown.values())
    if hidden:
        partition.append(reveal(_total(parts, hidden), disclosure, activity=False))
    whole = partition[0] if len(partition) == 1 else combine(partition)
    silent = whole_counts.delivered - whole_counts.respondents
    if len(partition) > 1 and _exact_whole_tells_no_part(parts, shown, disclosure):
        # The week's own exact figures, where what they add to the parts shown bounds no
        # part's non-answers (at least k silent among the parts not shown exactly, spread so
        # that any one of them may have none).
        whole = reveal(whole_counts, disclosure, activity=False)
    elif len(partition) > 1 and silent <= disclosure.blur:
        # Fewer than k silent in all: every part is a band, and the week's own band ("at
        # least d - (k - 1)") bounds no part's count below its own band's lower end.
        at_least = whole_counts.delivered - disclosure.blur
        whole = replace(
            whole,
            answered=at_least,
            participation=(100 * at_least // whole_counts.delivered) / 100,
        )
    if activity is not None:
        whole = replace(whole, reactions=activity.reactions, stories=activity.stories)
    return RoundFigures(whole, {key: shown.get(key, HIDDEN) for key in parts})


def _exact_whole_tells_no_part(
    parts: Mapping[str, Counts], shown: Mapping[str, Figures], disclosure: Disclosure
) -> bool:
    """Whether the whole's exact counts may be shown beside its parts' displayed figures.

    A reader who knows each part's size subtracts the exactly shown parts from the exact whole
    and learns how many did not answer among the rest (the banded and the hidden parts). That
    is allowed only when the rest could be shown exactly itself (at least k silent, enough
    asked) and when it bounds none of its parts from below: a band may hide up to k - 1
    non-answers and a hidden part up to its size, and a part whose rest-mates could not hold
    all the silence would be known to have some of its own.
    """
    whole = _total(parts, parts)
    if whole.delivered - whole.respondents <= disclosure.blur:
        return False
    rest = [key for key in parts if key not in shown or not shown[key].exact]
    if not rest:
        return True
    together = _total(parts, rest)
    silent = together.delivered - together.respondents
    if silent <= disclosure.blur or not disclosure.passes(together):
        return False
    most = {key: disclosure.blur if key in shown else parts[key].delivered for key in rest}
    room = sum(most.values())
    return all(silent - (room - most[key]) <= 0 for key in rest)


def combine(figures: Iterable[Figures]) -> Figures:
    """One group's figures out of several shown groups' displayed figures (hidden ones are
    left out): a function of what is shown, so it reveals nothing more."""
    shown = [figure for figure in figures if figure.shown]
    if not shown:
        return HIDDEN
    if len(shown) == 1:  # one group: its own figures, bounds and all
        return shown[0]
    answered = sum(figure.answered or 0 for figure in shown)
    delivered = sum(figure.delivered or 0 for figure in shown)
    exact = all(figure.exact for figure in shown)

    def weighted(values: list[tuple[int, float | None]]) -> float | None:
        if any(value is None for _, value in values) or answered == 0:
            return None
        return sum(weight * (value or 0.0) for weight, value in values) / answered

    def share(name: str) -> float | None:
        value = weighted([(f.answered or 0, getattr(f, name)) for f in shown])
        return None if value is None else math.floor(100 * value + 0.5) / 100

    index = weighted([(f.answered or 0, f.index) for f in shown])
    reactions = [f.reactions for f in shown]
    stories = [f.stories for f in shown]
    return Figures(
        hidden=False,
        answered=answered,
        exact=exact,
        delivered=delivered,
        index=None if index is None else float(math.floor(index + 0.5)),
        favourable=share("favourable") if exact else None,
        neutral=share("neutral") if exact else None,
        unfavourable=share("unfavourable") if exact else None,
        participation=(
            whole_percent(answered, delivered) if exact else (100 * answered // delivered) / 100
        )
        if delivered
        else None,
        reactions=None if None in reactions else sum(r or 0 for r in reactions),
        stories=None if None in stories else sum(s or 0 for s in stories),
    )
