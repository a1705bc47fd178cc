"""The interaction use cases with fakes where a platform would be: words, failures, privacy.

What each platform shows for each outcome is compared in tests/unit/test_platforms_agree.py;
here are the cases one platform alone reaches (a report asked in a shared chat, a viewer check
that failed) and what every use case tells the person when the database fails.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text as sql

from tests.conftest import TEST_KEY, FixedClock, make_settings
from tests.factories import closed_round_with_teams, sent_prompt
from trustbot.app import open_services
from trustbot.core.aggregates import NO_TEAM, WHOLE
from trustbot.core.interactions import (
    FAILED,
    PromptsWord,
    Reply,
    ReportShown,
    ViewerCheckFailed,
    attempt,
    parse_prompts_word,
    parse_round_id,
    prompts_command,
    report_team_names,
    request_report,
    score_click,
    share_story,
    start_story,
)
from trustbot.core.prompts import Actor, PromptAddress
from trustbot.core.rounds import open_round
from trustbot.core.services import Services

ALICE = Actor("slack", "U0ALICE")
HERE = PromptAddress("D0ALICE", "1764151200.000100")


async def _yes() -> bool:
    return True


async def _no() -> bool:
    return False


async def _unknown() -> bool:
    raise ViewerCheckFailed


@pytest.mark.parametrize(
    ("typed", "word"),
    [
        ("", PromptsWord.STATUS),
        ("  ", PromptsWord.STATUS),
        ("pause", PromptsWord.PAUSE),
        ("Stop now", PromptsWord.PAUSE),
        ("RESUME", PromptsWord.RESUME),
        ("start", PromptsWord.RESUME),
        ("status", PromptsWord.STATUS),
        ("later", PromptsWord.STATUS),
    ],
)
def test_the_prompts_command_words(typed: str, word: PromptsWord) -> None:
    assert parse_prompts_word(typed) is word


@pytest.mark.parametrize(
    ("value", "round_id"),
    [
        *[("12", 12), (12, 12), ("0", None), (0, None), (True, None), ("1e3", None)],
        *[("", None), (2**31, None), ("١٢", None), (None, None), ("99999999999", None)],
    ],
)
def test_round_ids_from_buttons_and_cards(value: object, round_id: int | None) -> None:
    assert parse_round_id(value) == round_id


async def test_a_report_in_a_shared_chat_is_refused_for_privacy(services: Services) -> None:
    answer = await request_report(services, actor=ALICE, arguments="", may_see=_yes, private=False)
    assert answer == Reply("report.private", "en")


async def test_a_failed_viewer_check_is_a_failed_report_not_a_refusal(
    services: Services,
) -> None:
    answer = await request_report(services, actor=ALICE, arguments="", may_see=_unknown)
    assert answer == Reply("report.failed", "en")
    refused = await request_report(services, actor=ALICE, arguments="", may_see=_no)
    assert refused == Reply("report.refused", "en")


async def test_report_teams_are_the_configured_ones_and_those_with_figures(
    services: Services,
) -> None:
    services.settings.teams = {"Sales": "S0SALES"}
    await closed_round_with_teams(services, "2026-W01", [WHOLE, NO_TEAM, "Ops", "Sales"])
    assert await report_team_names(services) == ("Sales", "Ops")
    shown = await request_report(services, actor=ALICE, arguments="team=ops", may_see=_yes)
    assert isinstance(shown, ReportShown)
    assert shown.report.request.team == "Ops"


@pytest.fixture
async def broken(tmp_path: Path, clock: FixedClock) -> AsyncIterator[Services]:
    """Services whose database cannot be opened: every read and write fails."""
    url = f"sqlite:///{tmp_path / 'missing' / 'trustbot.db'}"
    async with open_services(make_settings(url), clock=clock, prepare=False) as services:
        yield services


async def test_every_use_case_tells_the_person_when_the_database_fails(
    broken: Services, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        paused = await prompts_command(broken, actor=ALICE, arguments="pause")
        status = await prompts_command(broken, actor=ALICE, arguments="")
        report = await request_report(broken, actor=ALICE, arguments="", may_see=_yes)
        score = await score_click(
            broken, actor=ALICE, address=HERE, round_id=1, score=3, acted_us=1
        )
        start = await start_story(broken, actor=ALICE, address=HERE, round_id="1")
        story = await share_story(
            broken, actor=ALICE, round_id=1, visibility="named", story="Yes.", source_id=None
        )
    assert paused == Reply("pause.failed", "en")
    assert status == Reply("pause.failed", "en")
    assert report == Reply("report.failed", "en")
    assert (score.note, score.prompt, score.score) == (Reply("error.save_failed", "en"), None, None)
    assert start.refusal == Reply("story.error.open_failed", "en")
    assert (story.reply, story.saved) == (Reply("story.error.save_failed", "en"), False)
    logged = [record.getMessage() for record in caplog.records]
    assert "could not change prompt settings: OperationalError: unable to open database file" in (
        logged
    )
    assert any(line.startswith("could not store a pulse answer: ") for line in logged)
    assert any(line.startswith("could not store a story: ") for line in logged)
    assert not any("SELECT" in line or "INSERT" in line or TEST_KEY in line for line in logged)


async def test_attempt_passes_results_and_other_errors_through(services: Services) -> None:
    async def one() -> int:
        async with services.sessions() as session:
            return int(await session.scalar(sql("SELECT 1")) or 0)

    assert await attempt("read one", one()) == 1

    async def bug() -> int:
        raise KeyError("a bug is not a database failure")

    with pytest.raises(KeyError):
        await attempt("read one", bug())
    assert FAILED is not None


async def test_a_duplicate_story_is_saved_once_and_told_as_saved(services: Services) -> None:
    async with services.transaction() as session:
        round_, _ = await open_round(
            session=session,
            rules=services.rules,
            period=services.current_period(),
            now=services.now(),
        )
        session.add(sent_prompt(services, round_, user_id=ALICE.user_id, channel="D0", ts="1.0"))
    told = [
        await share_story(
            services,
            actor=ALICE,
            round_id=round_.id,
            visibility="private",
            story="Twice.",
            source_id="V1",
        )
        for _ in range(2)
    ]
    assert [(answer.reply.key, answer.saved) for answer in told] == [
        ("story.saved.private", True),
        ("story.saved.private", True),
    ]
