"""The anonymity threshold in one place: no hidden group can be shown or derived."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustbot.core.figures import (
    HIDDEN,
    Counts,
    combine,
    index_of,
    open_round_figures,
    protect_parts,
    reveal,
)


def counts(*scores: int, delivered: int | None = None) -> Counts:
    by_score = tuple(scores.count(value) for value in (1, 2, 3, 4, 5))
    return Counts(
        delivered=delivered if delivered is not None else len(scores),
        respondents=len(scores),
        score_sum=sum(scores),
        by_score=by_score,  # type: ignore[arg-type]
        reactions=1,
        stories=1,
    )


def test_a_group_below_the_threshold_shows_nothing_at_all() -> None:
    hidden = reveal(counts(5, 5, 4, 4), threshold=5)

    assert hidden == HIDDEN
    assert all(
        getattr(hidden, name) is None
        for name in ("respondents", "average", "index", "favourable", "participation")
    )
    assert hidden.reactions is None
    assert hidden.stories is None
    assert hidden.counts is None


def test_a_group_at_the_threshold_shows_its_figures() -> None:
    shown = reveal(counts(5, 4, 3, 2, 1, delivered=10), threshold=5)

    assert shown.shown
    assert shown.average == 3.0
    assert shown.index == 50.0
    assert (shown.favourable, shown.neutral, shown.unfavourable) == (0.4, 0.2, 0.4)
    assert shown.participation == 0.5


@pytest.mark.parametrize(("average", "index"), [(1.0, 0.0), (3.0, 50.0), (5.0, 100.0), (4.2, 80.0)])
def test_the_index_maps_one_to_five_onto_zero_to_a_hundred(average: float, index: float) -> None:
    assert index_of(average) == pytest.approx(index)


def test_one_small_team_takes_the_next_smallest_with_it() -> None:
    parts = {"A": counts(*[4] * 2), "B": counts(*[3] * 6), "C": counts(*[5] * 9)}

    protected = protect_parts(parts, threshold=5, whole_shown=True)

    assert protected["A"].hidden
    assert protected["B"].hidden  # else total minus B and C would give A away
    assert protected["C"].shown


def test_parts_of_a_hidden_whole_need_no_company() -> None:
    parts = {"A": counts(4, 4), "B": counts(*[3] * 6)}

    protected = protect_parts(parts, threshold=5, whole_shown=False)

    assert protected["A"].hidden
    assert protected["B"].shown


def test_combining_uses_shown_groups_only() -> None:
    shown = reveal(counts(*[5] * 6), threshold=5)
    hidden = reveal(counts(1, 1), threshold=5)

    combined = combine([shown, hidden], threshold=5)

    assert combined.respondents == 6
    assert combined.average == 5.0


def test_an_open_round_shows_participation_and_never_a_score() -> None:
    figures = open_round_figures(40, 12, threshold=5)

    assert (figures.respondents, figures.delivered, figures.participation) == (12, 40, 0.3)
    assert figures.index is None
    assert figures.average is None
    assert figures.favourable is None
    assert open_round_figures(40, 3, threshold=5).hidden


group_sizes = st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=8)


@settings(max_examples=400, deadline=None)
@given(sizes=group_sizes, threshold=st.integers(min_value=3, max_value=10), data=st.data())
def test_no_hidden_part_can_be_derived_from_what_is_shown(
    sizes: list[int], threshold: int, data: st.DataObject
) -> None:
    """Whatever the team sizes and scores: every shown part passes the threshold, and the
    hidden parts, taken together, are either none or at least a threshold's worth of people,
    so `whole - shown parts` is itself a group big enough to show."""
    parts = {
        f"team{index}": counts(
            *data.draw(st.lists(st.integers(1, 5), min_size=size, max_size=size))
        )
        for index, size in enumerate(sizes)
    }
    whole = sum(parts.values(), Counts())
    whole_figures = reveal(whole, threshold=threshold)

    protected = protect_parts(parts, threshold=threshold, whole_shown=whole_figures.shown)

    for key, figures in protected.items():
        if figures.shown:
            assert figures.respondents is not None
            assert figures.respondents >= threshold, key
    hidden = [key for key, figures in protected.items() if figures.hidden]
    if whole_figures.shown and hidden:
        derived = sum(parts[key].respondents for key in hidden)
        assert derived == 0 or derived >= threshold
    if whole_figures.shown:  # the derived group's score figures equal a group big enough
        derived_sum = whole.score_sum - sum(
            (protected[key].counts or Counts()).score_sum for key in protected if key not in hidden
        )
        assert derived_sum == sum(parts[key].score_sum for key in hidden)
