"""`trustbot demo --platform teams`: the same simulated company, on Microsoft Teams.

The bot runs exactly as `trustbot serve` builds it with only Teams credentials, against the local
Teams emulator: real HTTP, real RS256 JWTs checked by Microsoft's Teams SDK. Simulated employees
install the app, get the week's prompt proactively, click scores (Action.Execute, answered with
the refreshed card) and share stories; leadership adds the app to a channel for the digest.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from trustbot.administration import describe_summary, run_prompt_now
from trustbot.app import open_runtime
from trustbot.config import load_settings
from trustbot.core.catalogue import Language
from trustbot.devtools import demo_company as kit
from trustbot.devtools.loopback import LoopbackServer
from trustbot.devtools.render import render_card_as_text
from trustbot.devtools.teams_driver import TeamsDriver
from trustbot.devtools.teams_emulator import TeamsEmulator, TeamsUser
from trustbot.teams.cards import SCORE_VERB, STORY_INPUT, STORY_VERB, VISIBILITY_INPUT

LEADERSHIP = "Leadership"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


def _teams_user(person: kit.Employee) -> TeamsUser:
    aad = uuid.uuid5(uuid.NAMESPACE_URL, f"trustbot-demo:{person.user.id}")
    return TeamsUser(aad_object_id=str(aad), name=person.user.real_name)


def _card(activity: dict[str, Any]) -> dict[str, Any]:
    for attachment in activity.get("attachments") or []:
        if attachment.get("contentType") == ADAPTIVE_CARD:
            content: dict[str, Any] = attachment["content"]
            return content
    raise SystemExit(f"demo: the bot sent no card: {activity.get('text')!r}")


async def run_teams_demo(
    *, employees: int, weeks: int, seed: int, language: Language = "en"
) -> int:
    """Run the simulation on the Teams emulator and print the leader's report; the exit status."""
    started = time.monotonic()
    rng = random.Random(seed)
    people, _ = kit.company(rng, employees)
    users = {person.user.id: _teams_user(person) for person in people}
    ceo = TeamsUser(aad_object_id=str(uuid.uuid5(uuid.NAMESPACE_URL, "ceo")), name="Mette Lund")
    app_id = str(uuid.uuid4())
    with tempfile.TemporaryDirectory(prefix="trustbot-demo-") as workdir:
        database = Path(workdir) / "trustbot-demo.db"
        async with TeamsEmulator(app_id=app_id, users=[*users.values(), ceo]) as emulator:
            settings = load_settings(
                SLACK_BOT_TOKEN="",
                SLACK_SIGNING_SECRET="",
                SLACK_APP_TOKEN="",
                TEAMS_CLIENT_ID=app_id,
                TEAMS_CLIENT_SECRET="",
                TEAMS_TENANT_ID=emulator.tenant_id,
                TEAMS_OPENID_URL=emulator.openid_url,
                TEAMS_SERVICE_URL=emulator.service_url,
                TRUSTBOT_TEAMS_REPORT_VIEWERS=ceo.aad_object_id,
                TRUSTBOT_TEAMS_LEADERSHIP_CONVERSATIONS=emulator.channel_conversation(LEADERSHIP),
                **kit.shared_settings(database, language),
            )
            calendar = kit.Calendar.weeks_back(weeks, settings.zone)
            clock = calendar.clock
            # Microsoft Entra is not reachable: the emulator mints the bot's outbound token.
            kit.say(f"trustbot demo on Teams: {len(people)} employees, {weeks} weeks")
            kit.say(f"  Teams emulator at {emulator.base_url}, SQLite database at {database}")
            async with open_runtime(
                settings,
                clock=clock,
                teams_token=lambda scope, tenant=None: emulator.mint(
                    audience="https://api.botframework.com"
                ),
            ) as runtime:
                bot = LoopbackServer(runtime.web_app())
                async with (
                    bot,
                    TeamsDriver(
                        emulator=emulator, bot_url=bot.url + "/api/messages", clock=clock
                    ) as driver,
                ):
                    kit.say(f"  bot listening at {bot.url}/api/messages (JWT validation on)")
                    for user in [*users.values(), ceo]:
                        await kit.expect_ok(driver.install(user))
                    await kit.expect_ok(driver.install_in_channel(LEADERSHIP, by_user=ceo))
                    kit.say(
                        f"  {len(users) + 1} people installed the app; "
                        f"leadership added it to #{LEADERSHIP}\n"
                    )
                    for week in range(weeks):
                        calendar.monday_morning(week)
                        await runtime.jobs.close()
                        summary = await run_prompt_now(runtime)
                        tally = await _simulate_week(
                            rng, people, users, week, weeks, emulator, driver, clock
                        )
                        clock.current += timedelta(days=2)
                        await runtime.jobs.remind(clock.current)
                        reminders = await runtime.sender.drain(period=summary.period)
                        kit.say(
                            f"  {summary.period}  rule #{summary.rule_position}  "
                            f"{summary.sent:>3} prompts  {tally.answers:>3} answers "
                            f"({tally.changed} changed)  {tally.stories} stories  "
                            f"{reminders.sent:>2} reminders"
                        )
                    again = await run_prompt_now(runtime)
                    kit.say(f"\n  prompting again this week: {describe_summary(again)}")
                    outsider = users[people[0].user.id]
                    refusal = await _ask(driver, emulator, outsider, "trust-report")
                    kit.say(
                        "  an employee who writes trust-report is told: "
                        f"{render_card_as_text(refusal)!r}"
                    )
                    report = await _ask(driver, emulator, ceo, f"trust-report {weeks}")
                    clock.current += timedelta(days=2)  # Friday morning: the digest
                    leadership = emulator.channel_conversation(LEADERSHIP)
                    posted = len(emulator.activities_in(leadership))
                    await runtime.jobs.digest(clock.current)
                    await runtime.sender.drain()
                    digests = [
                        _card(sent.activity) for sent in emulator.activities_in(leadership)[posted:]
                    ]
                    chart = await kit.save_chart(runtime)
    kit.print_results(
        [
            (
                "What Mette (CEO, a report viewer) sees after writing trust-report to the bot:",
                render_card_as_text(report),
            ),
            (
                f"Friday's digest in the {LEADERSHIP} channel:",
                "\n\n".join(render_card_as_text(card) for card in digests),
            ),
        ],
        f"trend chart (inside the digest card as an image) saved to {chart}",
        started,
    )
    return 0


async def _simulate_week(
    rng: random.Random,
    people: list[kit.Employee],
    users: dict[str, TeamsUser],
    week: int,
    weeks: int,
    emulator: TeamsEmulator,
    driver: TeamsDriver,
    clock: kit.DemoClock,
) -> kit.WeekTally:
    tally = kit.WeekTally()
    lift = 0.5 * week / max(1, weeks - 1)
    for person in people:
        user = users[person.user.id]
        clock.current += timedelta(minutes=rng.randint(1, 20))
        prompt = emulator.activities_in(emulator.personal_conversation(user))[-1]
        if rng.random() < person.engagement:
            score = kit.draw_score(rng, person.mood + lift)
            await _click(driver, user, prompt.id, score)
            tally.answers += 1
            if rng.random() < 0.08:
                await _click(driver, user, prompt.id, min(5, score + 1))
                tally.changed += 1
        if rng.random() < 0.12:
            options = kit.STORIES[
                kit.rule_in(json.dumps(_card(prompt.activity), ensure_ascii=False))
            ]
            visibility = rng.choices(["named", "anonymous", "private"], weights=[4, 4, 2])[0]
            await driver.execute(
                user,
                verb=STORY_VERB,
                reply_to_id=prompt.id,
                inputs={STORY_INPUT: rng.choice(options), VISIBILITY_INPUT: visibility},
            )
            tally.stories += 1
    return tally


async def _click(driver: TeamsDriver, user: TeamsUser, prompt_id: str, score: int) -> None:
    """A score button: the card the bot answers with must say the answer was taken."""
    sent = driver.emulator.find_activity(prompt_id)
    [data] = [
        action["data"]
        for element in _card(sent.activity)["body"]
        for action in element.get("actions", [])
        if action.get("data", {}).get("score") == score
    ]
    response = await driver.execute(user, verb=SCORE_VERB, reply_to_id=prompt_id, data=data)
    if response.get("statusCode") != 200:
        raise SystemExit(f"demo: a score click was answered {response}")


async def _ask(
    driver: TeamsDriver, emulator: TeamsEmulator, user: TeamsUser, text: str
) -> dict[str, Any]:
    """Write to the bot in the personal chat; the card it answers with."""
    chat = emulator.personal_conversation(user)
    before = len(emulator.activities_in(chat))
    await kit.expect_ok(driver.message(user, text))
    await emulator.wait_for(lambda: len(emulator.activities_in(chat)) > before, timeout=30)
    return _card(emulator.activities_in(chat)[-1].activity)
