"""Audience resolution against the Slack emulator over HTTP: pages, filters, large workspaces."""

from __future__ import annotations

from tests.conftest import make_settings
from trustbot.app import open_runtime
from trustbot.core.ports import Person
from trustbot.devtools.emulator import EmulatedUser, SlackEmulator

TOKEN = "xoxb-directory-test"


async def _resolve(emulator: SlackEmulator, audience: list[str]) -> list[Person]:
    """resolve_audience of the Slack notifier exactly as the app builds it."""
    async with open_runtime(
        make_settings(
            SLACK_API_URL=emulator.base_url,
            SLACK_BOT_TOKEN=TOKEN,
            TRUSTBOT_AUDIENCE=",".join(audience),
        ),
        prepare=False,
    ) as runtime:
        return await runtime.notifier.resolve_audience()


async def test_channels_and_groups_are_paged_and_only_active_humans_remain() -> None:
    humans = [
        EmulatedUser(id=f"U{n:03d}", name=f"h{n}", real_name=f"H {n}", tz="America/New_York")
        for n in range(1, 12)
    ]
    others = [
        EmulatedUser(id="UBOT", name="bot", real_name="Bot", is_bot=True),
        EmulatedUser(id="UGONE", name="gone", real_name="Gone", deleted=True),
    ]
    emulator = SlackEmulator(
        bot_token=TOKEN,
        users=[*humans, *others],
        include_slackbot=True,
        # 8 channel members over pages of 3; the bot, the deactivated and Slackbot among them
        channels={"C0ALL": ["U001", "UBOT", "U002", "UGONE", "USLACKBOT", "U003", "U004", "U005"]},
        usergroups={"S0CREW": ["U005", "U006", "U007", "UGONE"]},
        page_size=3,
    )
    async with emulator:
        people = await _resolve(emulator, ["C0ALL", "S0CREW", "U010", "UBOT"])

        members_calls = emulator.calls_to("conversations.members")
        users_calls = emulator.calls_to("users.list")

    assert [p.user_id for p in people] == [
        "U001", "U002", "U003", "U004", "U005", "U006", "U007", "U010"
    ]  # fmt: skip
    assert {p.tz for p in people} == {"America/New_York"}
    # 8 members in pages of 3: three calls, the later ones carrying the cursor
    assert len(members_calls) == 3
    assert [bool(call.args.get("cursor")) for call in members_calls] == [False, True, True]
    # 15 users (with the app's own bot user and Slackbot) in pages of 3
    assert len(users_calls) == 5


async def test_ten_thousand_members_through_tier_2_limits() -> None:
    count = 10_500
    people = [EmulatedUser(id=f"U{n:07d}", name=f"u{n}", real_name=f"U {n}") for n in range(count)]
    emulator = SlackEmulator(
        bot_token=TOKEN,
        users=people,
        channels={"C0BIG": [p.id for p in people]},
        usergroups={"S0BIG": [p.id for p in people[::2]]},
        page_size=200,
    )
    # Slack's Tier 2 (users.list, conversations.members) allows about 20 calls a minute with
    # bursts; scaled down in time here, so that the 53 pages of each meet 429s and Retry-After.
    # The buckets refill in real time, so a client slowed by a loaded machine may stay under
    # them: one 429 each is also injected, so every run meets the limit and waits it out.
    for method in ("users.list", "conversations.members"):
        emulator.limit_rate(method, per_second=50, burst=40)
        emulator.rate_limit_next(method)
    async with emulator:
        resolved = await _resolve(emulator, ["C0BIG", "S0BIG"])
        refused = (
            emulator.status_counts[("users.list", 429)]
            + emulator.status_counts[("conversations.members", 429)]
        )

    assert len(resolved) == count
    assert len({p.user_id for p in resolved}) == count
    assert refused >= 2  # the limits were met, and waited out
