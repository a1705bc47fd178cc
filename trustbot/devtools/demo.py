"""`trustbot demo`: a simulated workspace, end to end over real HTTP with real signatures.

The bot runs exactly as `trustbot serve` builds it, against the local Slack emulator. Simulated
employees answer with signed button clicks, story modals and reactions; time is compressed by
moving the bot's clock one week per round. It ends with the report a manager sees. The company
itself (people, stories, the moved clock) is :mod:`trustbot.devtools.demo_company`.
"""

from __future__ import annotations

import random
import secrets
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from trustbot.administration import describe_summary, run_prompt_now
from trustbot.app import open_runtime
from trustbot.config import load_settings
from trustbot.core.catalogue import Language
from trustbot.devtools.demo_company import (
    REACTIONS,
    STORIES,
    TEAMS,
    Calendar,
    DemoClock,
    Employee,
    WeekTally,
    company,
    draw_score,
    expect_ok,
    print_results,
    rule_in,
    save_chart,
    say,
    shared_settings,
)
from trustbot.devtools.driver import SlackDriver
from trustbot.devtools.emulator import SlackEmulator
from trustbot.devtools.loopback import LoopbackServer
from trustbot.devtools.render import render_blocks_as_text
from trustbot.slack.blocks.ids import (
    SCORE_ACTION_PREFIX,
    SHARE_STORY_ACTION,
    STORY_TEXT_ACTION,
    STORY_TEXT_BLOCK,
    STORY_VISIBILITY_ACTION,
    STORY_VISIBILITY_BLOCK,
)

LEADERS_CHANNEL = "C0LEADERS"


async def run_demo(*, employees: int, weeks: int, seed: int, language: Language = "en") -> int:
    """Run the simulation and print the report; the exit status."""
    started = time.monotonic()
    rng = random.Random(seed)
    people, extras = company(rng, employees)
    channels = {
        f"C0{index}TEAM": [p.user.id for p in people if p.team == team] + ["B09003", "U09002"]
        for index, team in enumerate(TEAMS)
    }
    bot_token = "xoxb-demo-" + secrets.token_hex(12)
    signing_secret = secrets.token_hex(16)
    emulator = SlackEmulator(
        bot_token=bot_token,
        users=[p.user for p in people] + extras,
        channels={**channels, LEADERS_CHANNEL: ["U09000", "U09001"]},
        usergroups={"S0LEADERS": ["U09000", "U09001"]},
    )
    with tempfile.TemporaryDirectory(prefix="trustbot-demo-") as workdir:
        database = Path(workdir) / "trustbot-demo.db"
        async with emulator:
            settings = load_settings(
                SLACK_BOT_TOKEN=bot_token,
                SLACK_SIGNING_SECRET=signing_secret,
                SLACK_API_URL=emulator.base_url,
                TRUSTBOT_AUDIENCE=",".join(channels),
                TRUSTBOT_REPORT_VIEWERS="S0LEADERS",
                TRUSTBOT_LEADERSHIP_CHANNELS=LEADERS_CHANNEL,
                TRUSTBOT_TEAMS=",".join(
                    f"{team}={channel}" for team, channel in zip(TEAMS, channels, strict=True)
                ),
                **shared_settings(database, language),
            )
            calendar = Calendar.weeks_back(weeks, settings.zone)
            clock = calendar.clock
            say(f"trustbot demo: {len(people)} employees in {len(TEAMS)} teams, {weeks} weeks")
            say(f"  Slack emulator at {emulator.url}, SQLite database at {database}")
            async with open_runtime(settings, clock=clock) as runtime:
                say("  database migrated to the newest schema")
                bot = LoopbackServer(runtime.web_app())
                async with (
                    bot,
                    SlackDriver(
                        bot_url=bot.url + "/slack/events",
                        signing_secret=signing_secret,
                        emulator=emulator,
                        clock=lambda: clock().timestamp(),  # clicks dated by the moved clock
                    ) as driver,
                ):
                    say(f"  bot listening at {bot.url}/slack/events\n")
                    for week in range(weeks):
                        calendar.monday_morning(week)
                        await runtime.jobs.close()  # last week's round ends with its week
                        summary = await run_prompt_now(runtime)
                        tally = await _simulate_week(
                            rng=rng,
                            people=people,
                            week=week,
                            weeks=weeks,
                            emulator=emulator,
                            driver=driver,
                            clock=clock,
                        )
                        await emulator.wait_for(lambda: runtime.work.pending == 0, timeout=30)
                        clock.current += timedelta(days=2)  # Wednesday: a gentle reminder
                        await runtime.jobs.remind(clock.current)
                        reminders = await runtime.sender.drain(period=summary.period)
                        say(
                            f"  {summary.period}  rule #{summary.rule_position}  "
                            f"{summary.sent:>3} prompts  {tally.answers:>3} answers "
                            f"({tally.changed} changed)  {tally.stories} stories  "
                            f"{tally.reactions} reactions  {reminders.sent:>2} reminders"
                        )
                    again = await run_prompt_now(runtime)
                    say(f"\n  prompting again this week: {describe_summary(again)}")
                    refusal = await _slash_command(driver, emulator, people[0].user.id, "")
                    say(f"  an employee who tries /trust-report is told: {refusal.get('text')!r}")
                    report = (await _slash_command(driver, emulator, "U09000", str(weeks)))[
                        "blocks"
                    ]
                    clock.current += timedelta(days=2)  # Friday morning: the digest
                    posted = len(emulator.messages_in(LEADERS_CHANNEL))
                    await runtime.jobs.digest(clock.current)
                    await runtime.sender.drain()
                    digest = [
                        block
                        for message in emulator.messages_in(LEADERS_CHANNEL)[posted:]
                        for block in message.blocks
                    ]
                    chart = await save_chart(runtime)
    names = {user.id: user.real_name for user in [p.user for p in people] + extras}
    print_results(
        [
            (
                "What Mette (CEO, in the leadership user group) sees after /trust-report:",
                render_blocks_as_text(report, names),
            ),
            (
                f"Friday's digest in the leadership channel ({LEADERS_CHANNEL}):",
                render_blocks_as_text(digest, names),
            ),
        ],
        f"trend chart (posted with the digest) saved to {chart}",
        started,
    )
    return 0


async def _simulate_week(
    *,
    rng: random.Random,
    people: list[Employee],
    week: int,
    weeks: int,
    emulator: SlackEmulator,
    driver: SlackDriver,
    clock: DemoClock,
) -> WeekTally:
    tally = WeekTally()
    confirmations_before = len(emulator.ephemerals)
    lift = 0.5 * week / max(1, weeks - 1)  # the culture work slowly pays off
    prompts = {}
    for person in people:
        channel = emulator.dm_channel_for(person.user.id)
        prompts[person.user.id] = emulator.messages_in(channel)[-1]
    for person in people:
        clock.current += timedelta(minutes=rng.randint(1, 20))
        message = prompts[person.user.id]
        if rng.random() < person.engagement:
            score = draw_score(rng, person.mood + lift)
            changed = rng.random() < 0.08
            for clicked in (score, min(5, score + 1))[: 2 if changed else 1]:
                await expect_ok(
                    driver.click_button(
                        user_id=person.user.id,
                        message=message,
                        action_id=f"{SCORE_ACTION_PREFIX}{clicked}",
                    )
                )
            tally.answers += 1
            tally.changed += changed
            tally.confirmations_expected += 1 + changed
        if rng.random() < 0.12:
            await _share_story(rng, person, message, emulator, driver)
            tally.stories += 1
        if rng.random() < 0.15:
            await expect_ok(
                driver.react(
                    user_id=person.user.id, message=message, reaction=rng.choice(REACTIONS)
                )
            )
            tally.reactions += 1
    await emulator.wait_for(
        lambda: len(emulator.ephemerals) >= confirmations_before + tally.confirmations_expected,
        timeout=30,
    )
    return tally


async def _share_story(
    rng: random.Random,
    person: Employee,
    message: Any,
    emulator: SlackEmulator,
    driver: SlackDriver,
) -> None:
    opened = len(emulator.opened_views)
    await expect_ok(
        driver.click_button(user_id=person.user.id, message=message, action_id=SHARE_STORY_ACTION)
    )
    await emulator.wait_for(lambda: len(emulator.opened_views) > opened, timeout=10)
    view = emulator.opened_views[opened]["view"]
    rule_number = _rule_number(view)
    options = STORIES.get(rule_number, STORIES[1])
    story = options[len(emulator.opened_views) % len(options)]
    visibility = rng.choices(["named", "anonymous", "private"], weights=[4, 4, 2])[0]
    values: dict[str, dict[str, dict[str, Any]]] = {
        STORY_TEXT_BLOCK: {STORY_TEXT_ACTION: {"type": "plain_text_input", "value": story}},
        STORY_VISIBILITY_BLOCK: {
            STORY_VISIBILITY_ACTION: {
                "type": "radio_buttons",
                "selected_option": {"value": visibility},
            }
        },
    }
    await expect_ok(driver.submit_view(user_id=person.user.id, view=view, values=values))


def _rule_number(view: dict[str, Any]) -> int:
    return rule_in(view["blocks"][0]["elements"][0]["text"])


async def _slash_command(
    driver: SlackDriver, emulator: SlackEmulator, user_id: str, text: str
) -> dict[str, Any]:
    """Run /trust-report as a person; the body the bot posted to the response_url."""
    before = len(emulator.responses)
    await expect_ok(driver.send_command(user_id=user_id, text=text))
    await emulator.wait_for(lambda: len(emulator.responses) > before, timeout=30)
    body: dict[str, Any] = emulator.responses[before]["body"]
    return body
