"""Microsoft Teams end to end over real HTTP with real JWTs: Microsoft's side is the local Teams
emulator, trustbot is built exactly as `serve` builds it (Teams only)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock, make_settings
from tests.factories import by_user
from tests.teams_cards import cards_in, validate_adaptive_card
from trustbot.administration import run_prompt_now
from trustbot.app import Runtime, open_runtime
from trustbot.core.catalogue import text
from trustbot.db.models import Anecdote, Delivery, DeliveryStatus, PulseAnswer
from trustbot.devtools.emulator import LoopbackServer
from trustbot.devtools.teams_driver import TeamsDriver
from trustbot.devtools.teams_emulator import (
    DEFAULT_TENANT_ID,
    TeamsEmulator,
    TeamsUser,
    new_signing_key,
)
from trustbot.kinds import Visibility

APP_ID = "0b7c3f1e-2d4a-4e5b-8c6d-7e8f9a0b1c2d"
TENANT = DEFAULT_TENANT_ID  # the emulated people's tenant: the bot is single-tenant
PEOPLE = [
    TeamsUser(aad_object_id=f"aaaaaaaa-1111-4111-8111-{index:012d}", name=f"Person {index}")
    for index in range(1, 6)
]
BOSS = TeamsUser(aad_object_id="bbbbbbbb-2222-4222-8222-000000000001", name="Birgit Boss")
SIGNING_KEY = new_signing_key()  # one for the module: making an RSA key takes ~0.1 s


@dataclass
class TeamsStack:
    emulator: TeamsEmulator
    driver: TeamsDriver
    runtime: Runtime
    clock: FixedClock

    async def prompt(self) -> Any:
        return await run_prompt_now(self.runtime)

    def prompt_for(self, user: TeamsUser) -> Any:
        sent = self.emulator.activities_in(self.emulator.personal_conversation(user))
        assert sent, f"{user.name} got no prompt"
        return sent[-1]

    async def answers(self) -> dict[str, int]:
        """Stored scores by the person's pseudonym (each answer handle matched with the key)."""
        services = self.runtime.services
        async with services.sessions() as session:
            rows = (
                await session.execute(
                    select(PulseAnswer.round_id, PulseAnswer.respondent, PulseAnswer.score)
                )
            ).all()
        users = [user.aad_object_id for user in PEOPLE]
        rounds = sorted({round_id for round_id, _, _ in rows})
        who = by_user(services, "answer", users, rounds, platform="teams")
        return {
            services.keys.pseudonym(who[respondent], "teams"): score
            for _, respondent, score in rows
        }

    def pseudonym(self, user: TeamsUser) -> str:
        return self.runtime.services.keys.pseudonym(user.aad_object_id, "teams")


@pytest.fixture
async def teams(engine: AsyncEngine, database_url: str) -> AsyncIterator[TeamsStack]:
    del engine  # an emptied database
    clock = FixedClock(datetime(2026, 11, 26, 10, tzinfo=UTC), ticking=True)
    async with TeamsEmulator(
        app_id=APP_ID, users=[*PEOPLE, BOSS], signing_key=SIGNING_KEY
    ) as emulator:
        settings = make_settings(
            database_url,
            SLACK_BOT_TOKEN="",
            SLACK_SIGNING_SECRET="",
            TEAMS_CLIENT_ID=APP_ID,
            TEAMS_TENANT_ID=TENANT,
            TEAMS_OPENID_URL=emulator.openid_url,
            TEAMS_SERVICE_URL=emulator.service_url,
            TRUSTBOT_TEAMS_REPORT_VIEWERS=BOSS.aad_object_id,
            TRUSTBOT_TEAMS_LEADERSHIP_CONVERSATIONS=emulator.channel_conversation("Leadership"),
            TRUSTBOT_MIN_GROUP_SIZE=3,
            TRUSTBOT_SEND_RATE=1000,
            TRUSTBOT_SEND_BURST=100,
        )
        async with _served(settings, emulator, clock) as stack:
            yield stack
            # Every card the bot sent in the test, whatever the test looked at, is valid 1.5.
            for sent in _all_cards(emulator):
                assert validate_adaptive_card(sent) == [], json.dumps(sent)[:300]


@asynccontextmanager
async def _served(
    settings: Any, emulator: TeamsEmulator, clock: FixedClock
) -> AsyncIterator[TeamsStack]:
    """trustbot built as `serve` builds it, on a loopback port, with a driver for Teams."""
    async with open_runtime(
        settings,
        clock=clock,
        teams_token=lambda scope, tenant=None: emulator.mint(
            audience="https://api.botframework.com"
        ),
        prepare=False,
    ) as runtime:
        bot = LoopbackServer(runtime.web_app())
        await bot.start()
        driver = TeamsDriver(emulator=emulator, bot_url=bot.url + "/api/messages", clock=clock)
        try:
            yield TeamsStack(emulator, driver, runtime, clock)
        finally:
            await driver.aclose()
            await bot.stop()


def _all_cards(emulator: TeamsEmulator) -> list[dict[str, Any]]:
    cards = []
    for call in emulator.connector_calls():
        body = call.body if isinstance(call.body, dict) else {}
        cards += cards_in(body)
    return cards


async def test_install_proactive_prompt_click_once_and_the_card_refreshes(
    teams: TeamsStack,
) -> None:
    for user in PEOPLE:
        assert (await teams.driver.install(user)).status_code == 200
    summary = await teams.prompt()
    assert (summary.sent, summary.failed) == (len(PEOPLE), 0)
    prompt = teams.prompt_for(PEOPLE[0])
    [card] = cards_in(prompt.activity)
    assert validate_adaptive_card(card) == []
    assert "We build our successes" in json.dumps(card)

    first = await teams.driver.execute(
        PEOPLE[0], verb="trustbot.score", reply_to_id=prompt.id, data={**_score_data(card, 2)}
    )
    again = await teams.driver.execute(
        PEOPLE[0], verb="trustbot.score", reply_to_id=prompt.id, data={**_score_data(card, 4)}
    )

    assert await teams.answers() == {teams.pseudonym(PEOPLE[0]): 4}
    for response in (first, again):
        assert response["statusCode"] == 200
        assert response["type"] == "application/vnd.microsoft.card.adaptive"
        refreshed = response["value"]
        assert validate_adaptive_card(refreshed) == []
        shown = json.dumps(refreshed)
        assert "Answered, thank you" in shown
        # the score is never written into the card: its buttons are the prompt's, unmarked
        assert _action_sets(refreshed) == _action_sets(card)


def _action_sets(card: dict[str, Any]) -> list[Any]:
    return [element for element in card["body"] if element.get("type") == "ActionSet"]


def _score_data(card: dict[str, Any], score: int) -> dict[str, Any]:
    for element in card["body"]:
        for action in element.get("actions", []):
            if action.get("data", {}).get("score") == score:
                return dict(action["data"])
    raise AssertionError(f"no score {score} button")


@pytest.mark.parametrize("visibility", list(Visibility))
async def test_a_story_with_each_sharing_choice(teams: TeamsStack, visibility: Visibility) -> None:
    await teams.driver.install(PEOPLE[1])
    await teams.prompt()
    prompt = teams.prompt_for(PEOPLE[1])
    [card] = cards_in(prompt.activity)
    story_action = card["actions"][0]

    response = await teams.driver.execute(
        PEOPLE[1],
        verb="trustbot.story",
        reply_to_id=prompt.id,
        data=dict(story_action["data"]),
        inputs={"story": "Ida *untangled* the [router](http://x).", "visibility": visibility.value},
    )

    # A transient message: the card in the chat stays the prompt as it was.
    assert response["type"] == "application/vnd.microsoft.activity.message"
    assert response["value"] == text(f"story.saved.{visibility.value}", "en")
    assert teams.emulator.find_activity(prompt.id).refreshes == 0
    async with teams.runtime.services.sessions() as session:
        [story] = (await session.scalars(select(Anecdote))).all()
    assert story.visibility is visibility
    assert story.text == "Ida *untangled* the [router](http://x)."
    named = visibility is Visibility.NAMED
    assert story.author_user_id == (PEOPLE[1].aad_object_id if named else None)
    assert story.author_name == (PEOPLE[1].name if named else None)


async def test_the_action_submit_fallback_records_the_score_too(teams: TeamsStack) -> None:
    await teams.driver.install(PEOPLE[2])
    await teams.prompt()
    prompt = teams.prompt_for(PEOPLE[2])
    [card] = cards_in(prompt.activity)
    data = dict(_score_data(card, 5))

    response = await teams.driver.submit(PEOPLE[2], data, reply_to_id=prompt.id)

    assert response.status_code == 200
    assert await teams.answers() == {teams.pseudonym(PEOPLE[2]): 5}


async def test_trust_report_for_a_viewer_and_a_polite_refusal_for_anyone_else(
    teams: TeamsStack,
) -> None:
    for user in [*PEOPLE, BOSS]:
        await teams.driver.install(user)
    teams.clock.now -= timedelta(weeks=1)
    await teams.prompt()
    for index, user in enumerate(PEOPLE):
        prompt = teams.prompt_for(user)
        [card] = cards_in(prompt.activity)
        await teams.driver.execute(
            user,
            verb="trustbot.score",
            reply_to_id=prompt.id,
            data=_score_data(card, 3 + index % 3),
        )
    teams.clock.now += timedelta(weeks=1)
    await teams.runtime.jobs.close()

    boss_chat = teams.emulator.personal_conversation(BOSS)
    before = len(teams.emulator.activities_in(boss_chat))
    assert (await teams.driver.message(BOSS, "trust-report 4")).status_code == 200
    await teams.emulator.wait_for(lambda: len(teams.emulator.activities_in(boss_chat)) > before)
    [report] = cards_in(teams.emulator.activities_in(boss_chat)[-1].activity)
    assert validate_adaptive_card(report) == []
    shown = json.dumps(report)
    assert "Trust report: the last 4 weeks" in shown
    assert "data:image/png;base64," in shown  # the trend chart, as an image Teams renders

    outsider_chat = teams.emulator.personal_conversation(PEOPLE[0])
    before = len(teams.emulator.activities_in(outsider_chat))
    await teams.driver.message(PEOPLE[0], "trust-report")
    await teams.emulator.wait_for(lambda: len(teams.emulator.activities_in(outsider_chat)) > before)
    [refusal] = cards_in(teams.emulator.activities_in(outsider_chat)[-1].activity)
    assert "only available to selected leaders" in json.dumps(refusal)
    assert "Trust report" not in json.dumps(refusal)


async def test_the_digest_with_its_chart_reaches_the_leadership_conversation(
    teams: TeamsStack,
) -> None:
    await teams.driver.install_in_channel("Leadership", by_user=BOSS)
    await teams.runtime.jobs.digest(teams.clock.now)
    await teams.runtime.sender.drain()

    sent = teams.emulator.activities_in(teams.emulator.channel_conversation("Leadership"))
    digests = [card for activity in sent for card in cards_in(activity.activity)]
    assert len(digests) == 1
    assert validate_adaptive_card(digests[0]) == []
    assert "Trust digest" in json.dumps(digests[0])
    assert "data:image/png;base64," in json.dumps(digests[0])
    await teams.runtime.jobs.digest(teams.clock.now)  # the same period again: nothing new
    await teams.runtime.sender.drain()
    assert len(teams.emulator.activities_in(teams.emulator.channel_conversation("Leadership"))) == 1


async def test_the_digest_chart_is_drawn_off_the_event_loop(
    teams: TeamsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drawing takes a tenth of a second or more (the first chart also imports matplotlib):
    on the event loop it would hold up every request meanwhile."""
    from trustbot.render import charts

    on_the_loop: list[bool] = []
    draw = charts.report_chart_png

    def watched(*args: Any, **kwargs: Any) -> bytes:
        try:
            asyncio.get_running_loop()
            on_the_loop.append(True)
        except RuntimeError:
            on_the_loop.append(False)
        return draw(*args, **kwargs)

    monkeypatch.setattr(charts, "report_chart_png", watched)
    await teams.driver.install_in_channel("Leadership", by_user=BOSS)

    await teams.runtime.jobs.digest(teams.clock.now)
    await teams.runtime.sender.drain()

    assert on_the_loop == [False]


async def test_a_429_storm_loses_nobody_and_duplicates_nobody(teams: TeamsStack) -> None:
    for user in PEOPLE:
        await teams.driver.install(user)
    teams.emulator.fail_next(429, times=8, retry_after=1, method="POST")

    summary = await teams.prompt()

    assert (summary.sent, summary.failed) == (len(PEOPLE), 0)
    for user in PEOPLE:
        assert len(teams.emulator.activities_in(teams.emulator.personal_conversation(user))) == 1


async def test_an_uninstalled_person_is_marked_not_retried_forever(teams: TeamsStack) -> None:
    for user in PEOPLE[:2]:
        await teams.driver.install(user)
    teams.emulator.set_installed(PEOPLE[1], installed=False)  # Teams forgot the app, we did not

    summary = await teams.prompt()
    again = await teams.prompt()

    assert (summary.sent, summary.failed) == (1, 1)
    assert (again.sent, again.audience) == (0, 1)  # no longer in the audience
    async with teams.runtime.services.sessions() as session:
        errors = list(
            await session.scalars(
                select(Delivery.last_error).where(Delivery.status == DeliveryStatus.FAILED)
            )
        )
    assert errors == ["BotNotInConversationRoster"]


@pytest.mark.parametrize("token", ["missing", "forged", "expired", "wrong audience"])
async def test_a_request_without_a_valid_token_is_refused_and_changes_nothing(
    teams: TeamsStack, token: str
) -> None:
    emulator = teams.emulator
    bearer = {
        "missing": None,
        "forged": emulator.mint(key=new_signing_key()),
        "expired": emulator.mint(expires_in=-600),
        "wrong audience": emulator.mint(audience="someone-else"),
    }[token]
    activity = teams.driver.activity("installationUpdate", PEOPLE[0], action="add")

    response = await teams.driver.post(activity, token=bearer)

    assert response.status_code == 401
    summary = await teams.prompt()
    assert summary.audience == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{not json", 400), (b"[1, 2]", 400), (b"x" * (1024 * 1024 + 1), 413)],
)
async def test_the_front_door_refuses_unreadable_bodies(
    teams: TeamsStack, body: bytes, status: int
) -> None:
    response = await teams.driver.post(body)
    assert response.status_code == status


async def test_an_upgrade_and_an_unknown_activity_are_not_server_errors(teams: TeamsStack) -> None:
    upgrade = teams.driver.activity("installationUpdate", PEOPLE[3], action="add-upgrade")
    unknown = teams.driver.activity("messageReaction", PEOPLE[3])

    for activity in (upgrade, unknown):
        assert (await teams.driver.post(activity)).status_code == 200
    # The bot answers an activity once its handler has run: the installation is stored.
    assert (await teams.prompt()).audience == 1  # the upgrade counts as an installation


async def test_a_reminder_reaches_only_who_has_not_answered_and_its_buttons_count(
    teams: TeamsStack,
) -> None:
    for user in PEOPLE[:2]:
        await teams.driver.install(user)
    summary = await teams.prompt()
    prompt = teams.prompt_for(PEOPLE[0])
    [card] = cards_in(prompt.activity)
    await teams.driver.execute(
        PEOPLE[0], verb="trustbot.score", reply_to_id=prompt.id, data=_score_data(card, 4)
    )

    teams.clock.now += timedelta(days=2)
    await teams.runtime.jobs.remind(teams.clock.now)
    reminded = await teams.runtime.sender.drain(period=summary.period)

    assert reminded.sent == 1
    assert len(teams.emulator.activities_in(teams.emulator.personal_conversation(PEOPLE[0]))) == 1
    reminder = teams.prompt_for(PEOPLE[1])
    [reminder_card] = cards_in(reminder.activity)
    await teams.driver.execute(
        PEOPLE[1],
        verb="trustbot.score",
        reply_to_id=reminder.id,
        data=_score_data(reminder_card, 2),
    )
    assert await teams.answers() == {teams.pseudonym(PEOPLE[0]): 4, teams.pseudonym(PEOPLE[1]): 2}


async def test_one_prompt_run_reaches_slack_and_teams_people_alike(
    engine: AsyncEngine, database_url: str
) -> None:
    """One `serve` (or `prompt --now`) configured for both platforms: one round, one prompt per
    person on each, and one summary that counts both."""
    from trustbot.devtools.emulator import EmulatedUser, SlackEmulator

    del engine  # an emptied database
    slack_people = ["U0BOTH1", "U0BOTH2", "U0BOTH3"]
    clock = FixedClock(datetime(2026, 11, 26, 10, tzinfo=UTC), ticking=True)
    users = [EmulatedUser(id=user, name=user.lower(), real_name=user) for user in slack_people]
    async with (
        TeamsEmulator(app_id=APP_ID, users=PEOPLE, signing_key=SIGNING_KEY) as emulator,
        SlackEmulator(bot_token="xoxb-both-1", users=users) as slack,
    ):
        settings = make_settings(
            database_url,
            SLACK_BOT_TOKEN="xoxb-both-1",
            SLACK_SIGNING_SECRET="both-signing-secret",
            SLACK_API_URL=slack.base_url,
            TRUSTBOT_AUDIENCE=",".join(slack_people),
            TEAMS_CLIENT_ID=APP_ID,
            TEAMS_TENANT_ID=TENANT,
            TEAMS_OPENID_URL=emulator.openid_url,
            TEAMS_SERVICE_URL=emulator.service_url,
            TRUSTBOT_SEND_RATE=1000,
            TRUSTBOT_SEND_BURST=100,
        )
        async with _served(settings, emulator, clock) as stack:
            for user in PEOPLE:
                assert (await stack.driver.install(user)).status_code == 200
            summary = await stack.prompt()
            again = await stack.prompt()

    assert (summary.audience, summary.sent, summary.failed) == (8, 8, 0)
    assert (again.sent, again.already_sent) == (0, 8)
    for person in slack_people:
        assert len(slack.messages_in(slack.dm_channel_for(person))) == 1
    for user in PEOPLE:
        assert len(emulator.activities_in(emulator.personal_conversation(user))) == 1


async def test_every_teams_reader_sees_the_same_threshold_answered_or_not(
    teams: TeamsStack,
) -> None:
    """The boss answered this week; the digest, read by others who did not, and the boss's own
    report show the same week alike: k + 1 answers of 2k asked, for everyone."""
    for user in [*PEOPLE, BOSS]:
        await teams.driver.install(user)
    await teams.driver.install_in_channel("Leadership", by_user=BOSS)
    teams.clock.now -= timedelta(weeks=1)
    await teams.prompt()
    for user in [*PEOPLE[:3], BOSS]:  # k + 1 = 4 answers of 6 asked
        prompt = teams.prompt_for(user)
        [card] = cards_in(prompt.activity)
        await teams.driver.execute(
            user, verb="trustbot.score", reply_to_id=prompt.id, data=_score_data(card, 4)
        )
    teams.clock.now += timedelta(weeks=1)
    await teams.runtime.jobs.close()

    boss_chat = teams.emulator.personal_conversation(BOSS)
    before = len(teams.emulator.activities_in(boss_chat))
    await teams.driver.message(BOSS, "trust-report 2")
    await teams.emulator.wait_for(lambda: len(teams.emulator.activities_in(boss_chat)) > before)
    [report] = cards_in(teams.emulator.activities_in(boss_chat)[-1].activity)
    await teams.runtime.jobs.digest(teams.clock.now)
    await teams.runtime.sender.drain()
    leadership = teams.emulator.channel_conversation("Leadership")
    [digest] = cards_in(teams.emulator.activities_in(leadership)[-1].activity)

    week = "2026-W47"
    assert _week_row(report, week) == [week, "#1", "≥4/6 ≥66%", "≥75", "—", " ", "0"]
    assert _week_row(digest, week) == _week_row(report, week)
    sentence = "at least 4 answers from at least 6 people asked"
    assert sentence in json.dumps(report, ensure_ascii=False)
    assert sentence in json.dumps(digest, ensure_ascii=False)


def _week_row(card: dict[str, Any], week: str) -> list[str]:
    """The cells of `week`'s row in a report card's week-by-week table."""
    for element in card["body"]:
        for row in element.get("rows", []):
            cells = [cell["items"][0]["text"] for cell in row["cells"]]
            if cells[0] == week:
                return cells
    raise AssertionError(f"no row for {week}")


async def test_a_bug_while_sending_counts_as_an_attempt_and_ends_failed(
    teams: TeamsStack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception that is not the platform's answer (a bug) must not leave the row to be
    claimed again forever: it is an attempt like any other, and the row fails with its name."""
    await teams.driver.install(PEOPLE[0])

    async def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("what someone wrote")

    monkeypatch.setattr(teams.runtime.notifiers["teams"], "send_prompt", broken)
    monkeypatch.setattr(teams.runtime.sender, "_max_attempts", 2)
    monkeypatch.setattr("trustbot.delivery.sender.BACKOFF_BASE_S", 0.05)

    summary = await teams.prompt()

    assert (summary.sent, summary.failed) == (0, 1)
    async with teams.runtime.services.sessions() as session:
        row = (await session.execute(select(Delivery.status, Delivery.attempts))).one()
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 2)
    assert summary.last_errors == ["internal error: KeyError"]
    assert "what someone wrote" not in caplog.text


async def test_forget_erases_a_teams_person_and_where_to_reach_them(teams: TeamsStack) -> None:
    from trustbot.administration import forget_text
    from trustbot.db.models import TeamsConversation

    for user in PEOPLE[:2]:
        await teams.driver.install(user)
    await teams.prompt()
    for user in PEOPLE[:2]:
        prompt = teams.prompt_for(user)
        [card] = cards_in(prompt.activity)
        await teams.driver.execute(
            user, verb="trustbot.score", reply_to_id=prompt.id, data=_score_data(card, 4)
        )

    said = await forget_text(
        teams.runtime.services.settings, PEOPLE[0].aad_object_id, platform="teams"
    )

    assert said.startswith(
        f"forgot {PEOPLE[0].aad_object_id}: 1 answers, 0 stories, 1 deliveries, 0 reactions, "
        "0 settings, 1 Teams conversations"
    )
    assert await teams.answers() == {teams.pseudonym(PEOPLE[1]): 4}
    async with teams.runtime.services.sessions() as session:
        left = list(await session.scalars(select(TeamsConversation.key)))
    assert len(left) == 1
    again = await teams.prompt()
    assert again.audience == 1  # not prompted again unless they reinstall
