"""The disclosure rules in one place: no hidden group can be shown or derived, no shown figure
tells who did not answer, and none says that everyone in a group answered alike."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from tests.privacy import attacks
from tests.privacy.attacks import silence_bounds
from trustbot.core import figures as figures_module
from trustbot.core.figures import (
    HIDDEN,
    Counts,
    Disclosure,
    Figures,
    RoundFigures,
    combine,
    disclosure_for,
    index_step,
    pins_a_part,
    protected_parts,
    reveal,
    round_figures,
)

K5 = disclosure_for(5)


def counts(*scores: int, delivered: int | None = None, activity: int = 1) -> Counts:
    by_score = tuple(scores.count(value) for value in (1, 2, 3, 4, 5))
    return Counts(
        delivered=delivered if delivered is not None else len(scores),
        respondents=len(scores),
        score_sum=sum(scores),
        by_score=by_score,  # type: ignore[arg-type]
        reactions=activity,
        stories=activity,
    )


def spread(respondents: int, score_sum: int, delivered: int) -> Counts | None:
    """Counts of `respondents` answers adding up to `score_sum`, in at least two of the three
    kinds (unfavourable 1-2, neutral 3, favourable 4-5) when that is possible at all."""
    if not respondents <= score_sum <= 5 * respondents:
        return None
    scores = [3] * respondents
    extra = score_sum - 3 * respondents
    if extra == 0 and respondents >= 2:
        scores[0], scores[1] = 2, 4
    for index in range(1, respondents):  # keep scores[0] a 3 (or the 2 above) if it can be
        step = max(-2, min(2, extra))
        if step == 0:
            break
        scores[index] += step
        extra -= step
    if extra:  # only possible at the very ends of the scale
        scores[0] += extra
    if sorted(scores)[0] < 1 or sorted(scores)[-1] > 5:
        return None
    return counts(*scores, delivered=delivered)


def kinds(value: Counts) -> int:
    one, two, three, four, five = value.by_score
    return sum(1 for group in (one + two, three, four + five) if group)


def test_the_rules_follow_from_k() -> None:
    assert disclosure_for(5) == Disclosure(min_group_size=5, min_answers=6, min_asked=10, blur=4)
    assert disclosure_for(3) == Disclosure(min_group_size=3, min_answers=4, min_asked=6, blur=2)


def test_a_group_below_k_plus_one_answers_shows_nothing_at_all() -> None:
    hidden = reveal(counts(5, 5, 4, 4, 3, delivered=20), K5)

    assert hidden == HIDDEN
    assert all(
        getattr(hidden, name) is None
        for name in ("answered", "delivered", "index", "favourable", "participation", "stories")
    )


def test_a_group_asked_fewer_than_2k_is_hidden_even_if_all_answered() -> None:
    """Nine asked, nine answered, k = 5: shown, it would say that at most three did not
    answer, fewer than k could hide among; so it is not shown at all."""
    assert reveal(counts(*[4] * 9, delivered=9), K5) == HIDDEN
    assert reveal(counts(*[4] * 6, delivered=9), K5) == HIDDEN
    assert reveal(counts(*[4] * 10, delivered=10), K5).shown


def test_exact_figures_when_at_least_k_did_not_answer() -> None:
    shown = reveal(counts(5, 5, 4, 3, 2, 1, delivered=11), K5)

    assert (shown.answered, shown.exact, shown.delivered) == (6, True, 11)
    assert shown.participation == 0.55
    assert shown.index == 58.0  # 20 / 6 = 3.33: 58.3
    assert (shown.favourable, shown.neutral, shown.unfavourable) == (0.5, 0.17, 0.33)
    assert (shown.index_step, shown.index_bound) == (1, "")


def test_a_band_when_fewer_than_k_did_not_answer() -> None:
    """Ten asked, nine answered: "at least 6 of 10", whatever between 6 and 10 answered."""
    shown = reveal(counts(5, 5, 4, 4, 4, 4, 3, 3, 2, delivered=10), K5)

    assert (shown.answered, shown.exact, shown.delivered) == (6, False, 10)
    assert shown.participation == 0.6  # at least
    assert (shown.favourable, shown.neutral, shown.unfavourable) == (None, None, None)
    assert shown.index_step == 5  # 25 / 6 answers at least: a step of 5 index points
    assert shown.index == 70.0  # 34 / 9 = 3.78: 69.4, to the nearest 5
    everyone = reveal(counts(*[4] * 10, delivered=10), K5)
    assert (everyone.answered, everyone.exact, everyone.participation) == (6, False, 0.6)


@pytest.mark.parametrize(
    ("at_least", "step"), [(3, 10), (4, 10), (5, 5), (12, 5), (13, 2), (25, 1)]
)
def test_the_index_step_of_a_band(at_least: int, step: int) -> None:
    assert index_step(at_least) == step


def test_a_band_at_the_top_of_the_scale_is_shown_as_a_bound() -> None:
    """Everyone gave 5: the band shows "at least 87", which one 3 among 5s also gives."""
    top = reveal(counts(*[5] * 10, delivered=10), K5)
    one_neutral = reveal(counts(3, *[5] * 9, delivered=10), K5)
    bottom = reveal(counts(*[1] * 10, delivered=10), K5)

    assert (top.index, top.index_bound) == (87.0, "at_least")  # what rounds to 90 or more
    assert one_neutral == top
    assert (bottom.index, bottom.index_bound) == (13.0, "at_most")


def test_an_exact_group_that_answered_alike_shows_it() -> None:
    """Decision 38: where at least k did not answer, the figures are shown as they are, even
    when every respondent answered alike (as peer products do): who answered is unknown."""
    unanimous = reveal(counts(*[5] * 6, delivered=12), K5)

    assert (unanimous.index, unanimous.favourable, unanimous.exact) == (100.0, 1.0, True)


bands = st.integers(min_value=3, max_value=8).flatmap(
    lambda k: st.tuples(
        st.just(k),
        st.integers(min_value=2 * k, max_value=2 * k + 60),  # asked
        st.integers(min_value=0, max_value=k - 1),  # did not answer
        st.data(),
    )
)


def _band(k: int, asked: int, silent: int, data: st.DataObject) -> tuple[Disclosure, Counts]:
    disclosure = disclosure_for(k)
    scores = data.draw(
        st.lists(st.integers(1, 5), min_size=asked - silent, max_size=asked - silent)
    )
    return disclosure, counts(*scores, delivered=asked)


def _witnesses_for_every_count(
    disclosure: Disclosure, group: Counts, shown: Figures
) -> dict[int, Counts | None]:
    """For each number who may have answered, counts that show exactly the same, in at least
    two kinds of answer (None when there are none)."""
    found: dict[int, Counts | None] = {}
    for respondents in range(group.delivered - disclosure.blur, group.delivered + 1):
        found[respondents] = next(
            (
                candidate
                for total in _nearest_first(
                    respondents, 5 * respondents, group.score_sum * respondents / group.respondents
                )
                if (candidate := spread(respondents, total, group.delivered)) is not None
                and kinds(candidate) >= 2
                and reveal(
                    Counts(
                        candidate.delivered,
                        candidate.respondents,
                        candidate.score_sum,
                        candidate.by_score,
                        group.reactions,
                        group.stories,
                    ),
                    disclosure,
                )
                == shown
            ),
            None,
        )
    return found


def _nearest_first(low: int, high: int, centre: float) -> list[int]:
    """Every whole number from low to high, nearest the centre first: a witness shows the same
    index, so its total is near the group's mean times its answers, and the search (which tries
    every total all the same when there is no witness) ends sooner."""
    return sorted(range(low, high + 1), key=lambda total: (abs(total - centre), total))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(band=bands)
def test_a_band_cannot_tell_who_did_not_answer_nor_that_all_answered_alike(
    band: tuple[int, int, int, st.DataObject],
) -> None:
    """Whatever the answers of a group where fewer than k did not answer: for every number of
    non-answers from none to k - 1, some answers (of at least two kinds: not all favourable,
    not all neutral, not all unfavourable) show exactly the same figures. So neither the band,
    nor the index, nor anything else shown tells how many did not answer, or that everyone
    who answered answered alike."""
    disclosure, group = _band(*band)
    shown = reveal(group, disclosure)

    assert shown.shown
    assert not shown.exact
    witnesses = _witnesses_for_every_count(disclosure, group, shown)
    assert [n for n, witness in witnesses.items() if witness is None] == []


def test_a_finer_index_would_tell_how_many_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The attack the rounding stops, on a weakened rule (a band's index to the whole point):
    some group's index is then made by one number of answers only."""
    monkeypatch.setattr(figures_module, "index_step", lambda at_least: 1)

    def pins(band: tuple[int, int, int, st.DataObject]) -> bool:
        disclosure, group = _band(*band)
        shown = reveal(group, disclosure)
        return None in _witnesses_for_every_count(disclosure, group, shown).values()

    assert find(bands, pins, settings=settings(max_examples=2000, database=None, deadline=None))


group_sizes = st.lists(
    st.tuples(st.integers(min_value=0, max_value=25), st.integers(min_value=0, max_value=8)),
    min_size=1,
    max_size=6,
)


def _parts(sizes: list[tuple[int, int]], data: st.DataObject) -> dict[str, Counts]:
    return {
        f"team{index}": counts(
            *data.draw(st.lists(st.integers(1, 5), min_size=answered, max_size=answered)),
            delivered=answered + silent,
            activity=0,
        )
        for index, (answered, silent) in enumerate(sizes)
    }


@settings(max_examples=600, deadline=None)
@given(sizes=group_sizes, k=st.integers(min_value=3, max_value=8), data=st.data())
def test_no_hidden_team_can_be_derived_from_what_is_shown(
    sizes: list[tuple[int, int]], k: int, data: st.DataObject
) -> None:
    """Whatever the teams: every shown team passes the rules, and when the round is shown the
    hidden teams together (what `whole - shown teams` would give) pass them too; the whole is
    made of the shown teams' displayed figures and that group's, so it says nothing more."""
    disclosure = disclosure_for(k)
    parts = _parts(sizes, data)
    whole = sum(parts.values(), Counts())

    decided = round_figures(parts, disclosure, activity=Counts(reactions=2, stories=3))

    pinned = pins_a_part(parts, parts, disclosure) and protected_parts(parts, disclosure) == set(
        parts
    )
    assert decided.whole.shown == (disclosure.passes(whole) and not pinned)
    for key, figures in decided.parts.items():
        assert figures.hidden or disclosure.passes(parts[key]), key
    if decided.whole.hidden:
        assert all(figures.hidden for figures in decided.parts.values())
        return
    hidden = [key for key, figures in decided.parts.items() if figures.hidden]
    rest = sum((parts[key] for key in hidden), Counts())
    assert not hidden or disclosure.passes(rest)
    assert not pins_a_part(parts, hidden, disclosure)
    assert hidden == sorted(protected_parts(parts, disclosure))
    partition = [f for f in decided.parts.values() if f.shown]
    if hidden:
        partition.append(reveal(rest, disclosure, activity=False))
    own = reveal(whole, disclosure, activity=False)
    shown_parts = {key: figures for key, figures in decided.parts.items() if figures.shown}
    if len(partition) > 1 and figures_module._exact_whole_tells_no_part(
        parts, shown_parts, disclosure
    ):
        # The week's own exact figures: test_no_team_shows_who_did_not_answer checks that
        # they bound no team's non-answers; here, that they are the week's own. (Otherwise
        # the week is its partition's combination, even where that is exact too: its shares
        # are then weighed from the parts' rounded ones, never finer than what they show.)
        assert replace(decided.whole, reactions=None, stories=None) == own
        assert whole.delivered - whole.respondents > disclosure.blur
        return
    expected = partition[0] if len(partition) == 1 else combine(partition)
    if len(partition) > 1 and whole.delivered - whole.respondents <= disclosure.blur:
        expected = replace(expected, answered=whole.delivered - disclosure.blur)  # its own band
    assert (decided.whole.answered, decided.whole.delivered) == (
        expected.answered,
        expected.delivered,
    )
    assert (decided.whole.index, decided.whole.exact) == (expected.index, expected.exact)
    assert (decided.whole.reactions, decided.whole.stories) == (2, 3)


def narrowed(
    parts: dict[str, Counts], decided: RoundFigures, disclosure: Disclosure
) -> dict[str, tuple[int, int]]:
    """The attack of tests/privacy/attacks.py on one round: what a reader who knows every
    team's size learns about who did not answer, that they should not."""
    sizes = {key: counts.delivered for key, counts in parts.items()}
    silent = {key: counts.delivered - counts.respondents for key, counts in parts.items()}
    bounds = silence_bounds(decided.whole, decided.parts, sizes, disclosure.blur)
    return attacks.narrowed(bounds, silent, sizes, disclosure.blur)


@settings(max_examples=600, deadline=None)
@given(sizes=group_sizes, k=st.integers(min_value=3, max_value=8), data=st.data())
def test_no_team_shows_who_did_not_answer(
    sizes: list[tuple[int, int]], k: int, data: st.DataObject
) -> None:
    """Knowing every team's size, a reader bounds each team's non-answers from the whole and
    the teams shown: for no team where fewer than k did not answer can they rule out any
    number from none to k - 1."""
    disclosure = disclosure_for(k)
    parts = _parts(sizes, data)

    assert narrowed(parts, round_figures(parts, disclosure), disclosure) == {}


def test_the_attack_finds_who_did_not_answer_where_the_whole_is_exact() -> None:
    """On a weakened rule (the whole from its own exact counts, as trustbot had it), the
    reader learns that everyone in Support answered: 16 of 22 in all, Sales 6 of 12."""
    parts = {"Sales": counts(*[4] * 6, delivered=12), "Support": counts(*[4] * 10, delivered=10)}
    decided = round_figures(parts, K5)
    weakened = replace(decided, whole=reveal(sum(parts.values(), Counts()), K5))

    assert narrowed(parts, decided, K5) == {}
    assert narrowed(parts, weakened, K5) == {"Support": (0, 0)}


def test_a_rest_that_would_pin_a_hidden_team_takes_more_with_it() -> None:
    """Two hidden teams, of three (one answered) and of five (none answered), beside two shown
    ones. With the smallest shown team (8 of 14) they make a group big enough, but shown by
    subtraction as 13 of 22 silent (exact), it would tell that at least one of the fourteen did
    not answer; so the next team joins, and the week is shown as one group."""
    parts = {
        "three": counts(4, delivered=3),
        "five": counts(delivered=5),
        "A": counts(*[4] * 8, delivered=14),
        "B": counts(*[4] * 9, delivered=16),
    }
    decided = round_figures(parts, K5)

    assert all(figures.hidden for figures in decided.parts.values())
    assert (decided.whole.answered, decided.whole.delivered, decided.whole.exact) == (18, 38, True)
    assert narrowed(parts, decided, K5) == {}


def test_a_week_whose_every_team_would_be_pinned_is_not_shown() -> None:
    """Dev: 8 of 10 answered; Ops (10) and three people in no team: none. Dev alone would be a
    band, but the rest (none of 13) cannot be shown, so Dev is hidden too, and the week as a
    whole, 8 of 23 (exact), would tell that at least two of Dev did not answer (15 silent, at
    most 13 of them elsewhere): the week is not shown at all."""
    parts = {
        "Dev": counts(*[4] * 8, delivered=10),
        "Ops": counts(delivered=10),
        "": counts(delivered=3),
    }
    decided = round_figures(parts, K5)
    weakened = replace(decided, whole=reveal(sum(parts.values(), Counts()), K5))

    assert decided.whole.hidden
    assert narrowed(parts, weakened, K5) == {"Dev": (2, 10)}


def test_one_small_team_takes_the_next_smallest_with_it() -> None:
    parts = {
        "A": counts(*[4] * 2, delivered=12),
        "B": counts(*[3] * 10, delivered=12),
        "C": counts(*[5] * 11, delivered=20),
    }

    decided = round_figures(parts, K5)

    assert decided.parts["A"].hidden
    assert decided.parts["B"].hidden  # else total minus B and C would give A away
    assert decided.parts["C"].shown


def test_the_hidden_teams_together_need_2k_asked_too() -> None:
    """A team of four who all answered (too few asked, k = 3) and two shown ones: the whole
    minus the shown teams would be the small team's four answers of four asked, so the next
    smallest goes with it until six are asked."""
    k3 = disclosure_for(3)
    parts = {
        "tiny": counts(5, 5, 5, 5, delivered=4),
        "B": counts(*[3] * 5, delivered=7),
        "C": counts(*[4] * 8, delivered=12),
    }

    decided = round_figures(parts, k3)

    assert decided.parts["tiny"].hidden
    assert decided.parts["B"].hidden
    assert decided.parts["C"].shown


def test_a_whole_with_every_team_exact_is_exact() -> None:
    parts = {
        "A": counts(*[4] * 6, delivered=12),
        "B": counts(*[2] * 8, delivered=16),
    }

    whole = round_figures(parts, K5).whole

    assert (whole.answered, whole.delivered, whole.exact) == (14, 28, True)
    assert whole.participation == 0.5
    assert whole.index == round((6 * 75 + 8 * 25) / 14)


def test_a_whole_with_a_banded_team_is_a_band() -> None:
    """Sales 6 of 12 (exact), Support 10 of 10 (a band): the total, 16 of 22, is shown as at
    least 12 of 22, so that minus Sales it cannot tell Support's."""
    parts = {
        "Sales": counts(*[4] * 6, delivered=12),
        "Support": counts(*[4] * 10, delivered=10),
    }

    decided = round_figures(parts, K5)

    assert (decided.whole.answered, decided.whole.exact, decided.whole.delivered) == (12, False, 22)
    assert decided.parts["Support"].answered == 6
    assert decided.whole.favourable is None


def test_a_whole_where_fewer_than_k_were_silent_is_its_own_band() -> None:
    """Four teams of ten, each with one silent: each "at least 6 of 10", and the week "at
    least 36 of 40", which tells no team more than its own band (its index is still made of
    the teams' shown ones)."""
    parts = {name: counts(*[4] * 9, delivered=10) for name in "ABCD"}

    decided = round_figures(parts, K5)

    assert {f.answered for f in decided.parts.values()} == {6}
    assert (decided.whole.answered, decided.whole.delivered, decided.whole.exact) == (36, 40, False)
    assert decided.whole.participation == 0.9
    assert narrowed(parts, decided, K5) == {}


def test_a_whole_is_exact_when_its_silence_could_be_anyone_s() -> None:
    """Four teams of ten, 30 answered: each team a band (at most four silent each), and the
    week's own 30 of 40 exact, since its ten silent could be spread in many ways with none in
    any one team."""
    sizes = (8, 7, 8, 7)
    parts = {name: counts(*[4] * n, delivered=10) for name, n in zip("ABCD", sizes, strict=True)}

    decided = round_figures(parts, K5)

    assert all(not f.exact for f in decided.parts.values())
    assert (decided.whole.answered, decided.whole.delivered, decided.whole.exact) == (30, 40, True)
    assert decided.whole.favourable == 1.0
    assert narrowed(parts, decided, K5) == {}


def test_a_whole_is_not_exact_when_its_silence_fills_the_bands() -> None:
    """Four teams of ten, 24 answered: sixteen silent and at most four in each band, so the
    exact week would tell that every team had four silent; the week is made of its bands."""
    parts = {name: counts(*[4] * 6, delivered=10) for name in "ABCD"}

    decided = round_figures(parts, K5)
    weakened = replace(decided, whole=reveal(sum(parts.values(), Counts()), K5))

    assert not decided.whole.exact
    assert narrowed(parts, decided, K5) == {}
    assert set(narrowed(parts, weakened, K5)) == set("ABCD")


def test_combining_uses_displayed_figures_of_shown_groups_only() -> None:
    shown = reveal(counts(*[5] * 6, *[1] * 6, delivered=17), K5)  # exact: 12 of 17
    band = reveal(counts(*[4] * 10, delivered=10), K5)  # at least 6 of 10

    combined = combine([shown, HIDDEN, band])

    assert (combined.answered, combined.delivered, combined.exact) == (18, 27, False)
    assert combined.index == round((12 * 50 + 6 * 75) / 18)
    assert combine([HIDDEN, HIDDEN]) == HIDDEN
    assert combine([band]) == band  # one group: its own figures, bounds and all


def test_no_rule_takes_a_reader() -> None:
    """There is no argument to pass a reader: the rules take counts and k, nothing else."""
    import inspect

    for function in (reveal, round_figures, combine, disclosure_for):
        names = set(inspect.signature(function).parameters)
        assert not names & {"viewer", "reader", "extra_threshold"}, function
