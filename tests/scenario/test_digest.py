"""The leadership digest in Slack: the digest job queues it, the outbox sender posts it to every
TRUSTBOT_LEADERSHIP_CHANNELS channel with its trend chart (files_upload_v2), within Block Kit's
limits however long it gets."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock
from tests.scenario.conftest import MANAGER, Stack, running_stack
from trustbot.devtools.emulator import StoredMessage
from trustbot.render import charts

LEADERSHIP = ["C0LEAD", "C0BOARD"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _weeks_pass_in_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack's one message per second per channel is about real time; here a week passes in
    milliseconds, so the sender need not wait a second before each person's next prompt."""
    monkeypatch.setattr("trustbot.delivery.pacing.PER_CHANNEL_INTERVAL_S", 0.0)


TEN = [f"U0TEN{index:02d}" for index in range(1, 11)]
E1, E2, E3, E4, E5, E6, E7, E8, E9, E10 = TEN


@pytest.fixture
async def stack(engine: AsyncEngine, database_url: str, clock: FixedClock) -> AsyncIterator[Stack]:
    """Ten employees, k = 3 (a digest, read by several people, needs k + 1 = 4 answers a
    group), and two leadership channels."""
    del engine
    async with running_stack(
        database_url,
        clock,
        employees=TEN,
        channels={channel: [MANAGER] for channel in LEADERSHIP},
        TRUSTBOT_LEADERSHIP_CHANNELS=",".join(LEADERSHIP),
    ) as running:
        yield running


async def _send_digest(stack: Stack) -> None:
    """What the scheduled digest job does, then the outbox sender delivering it."""
    await stack.runtime.jobs.digest(stack.clock.now)
    stats = await stack.runtime.sender.drain()
    assert (stats.sent, stats.failed) == (len(LEADERSHIP), 0), stats


def _digest_messages(stack: Stack, channel: str) -> list[StoredMessage]:
    return [message for message in stack.emulator.messages_in(channel) if not message.files]


def _texts(blocks: list[dict[str, Any]]) -> list[str]:
    texts = []
    for block in blocks:
        if "text" in block:
            texts.append(str(block["text"]["text"]))
        texts += [str(element.get("text", "")) for element in block.get("elements", [])]
    return texts


def _assert_within_block_kit(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    for block in blocks:
        limit = 150 if block["type"] == "header" else 3000
        assert all(len(text) <= limit for text in _texts([block])), block["type"]
        assert len(block.get("elements", [])) <= 10


async def test_each_leadership_channel_gets_the_digest_and_its_chart(stack: Stack) -> None:
    stack.clock.now -= timedelta(weeks=2)
    await stack.prompt()  # 2026-W46, rule 1: everyone answers (40 / 10: index 75)
    await stack.answer({E1: 5, E2: 5, E3: 5, E4: 4, E5: 4, E6: 4, E7: 4, E8: 3, E9: 3, E10: 3})
    await stack.share_story(E1, "An older story, of rule 1", "anonymous")
    await stack.next_week()
    await stack.prompt()  # 2026-W47, rule 2: half answer, and lower (14 / 5: index 45)
    await stack.answer({E1: 2, E2: 3, E3: 3, E4: 3, E5: 3})
    await stack.next_week()
    await stack.prompt()  # 2026-W48, rule 3: open, four answers so far
    await stack.answer({E1: 3, E2: 3, E3: 3, E4: 3})
    for author, words, sharing in [
        (E1, "First story of the week", "named"),
        (E2, "Second story of the week", "anonymous"),
        (E3, "Kept out of reports", "private"),
        (E4, "Third story of the week", "named"),
        (E5, "Fourth story of the week", "anonymous"),
    ]:
        await stack.share_story(author, words, sharing)

    await _send_digest(stack)

    for channel in LEADERSHIP:
        [digest] = _digest_messages(stack, channel)
        _assert_within_block_kit(digest.blocks)
        text = "\n".join(_texts(digest.blocks))
        assert text.startswith("Trust digest, 2026-W48")
        assert "Figures from fewer than 4 answers are not shown" in text  # k + 1
        # The headline: closed weeks only (15 answers: 54 / 15 = 3.6, index 65), the change
        # from W46 (75) to W47 (45), favourable answers (7) and participation (15 of 20).
        assert "Trust index 65 ▼ −30 · 47% favourable · participation 75% (15 answers)" in text
        assert "⚠️ Participation fell to 50% from 100% on average (2026-W47)" in text
        rules = text.split("Per rule")[1].split("```")[1]
        assert re.search(r"#1 .+\s75\s+75\s", rules)
        assert re.search(r"#2 .+\s45\s+45\s", rules)
        assert re.search(r"#3 .+\s—\s+—", rules)  # asked this week: no figure while open
        assert re.search(r"2026-W48\s+#3\s+4/10 40%\s+open", text)
        # Up to three stories, all of this week's rule, in an order that says nothing of when
        # they were told (by text); never a private one.
        stories = text.split("Stories about this week's rule")[1]
        assert re.findall(r"(\w+) story of the week", stories) == ["First", "Fourth", "Second"]
        assert f"<@{E1}>" in stories
        assert "Kept out of reports" not in text
        assert "older story" not in text
        # The trend chart, shared in this very channel and nowhere else.
        [chart] = stack.emulator.files_in(channel)
        assert chart.channels == [channel]
        assert chart.content is not None
        assert chart.content.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(chart.content)) as image:
            assert (image.format, image.size) == ("PNG", (1200, 675))
        assert chart.title == "Trust index per rule, last 12 weeks"
    assert len(stack.emulator.calls_to("files.completeUploadExternal")) == len(LEADERSHIP)

    await _send_digest_again_changes_nothing(stack)


async def _send_digest_again_changes_nothing(stack: Stack) -> None:
    counts = {channel: len(stack.emulator.messages_in(channel)) for channel in LEADERSHIP}
    await stack.runtime.jobs.digest(stack.clock.now)
    await stack.runtime.sender.drain()
    assert {channel: len(stack.emulator.messages_in(channel)) for channel in LEADERSHIP} == counts


async def test_the_chart_is_drawn_off_the_event_loop(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drawing takes a tenth of a second or more (the first chart also imports matplotlib):
    on the event loop it would hold up the acknowledgements Slack waits three seconds for."""
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

    await _send_digest(stack)

    assert on_the_loop == [False] * len(LEADERSHIP)
    assert all(len(stack.emulator.files_in(channel)) == 1 for channel in LEADERSHIP)


TEAM_COUNT = 90


def _team_name(number: int) -> str:
    name = f"Customer facing operations and support group number {number:03d}"
    return name.ljust(64, ".")


@pytest.fixture
async def big_stack(
    engine: AsyncEngine, database_url: str, clock: FixedClock
) -> AsyncIterator[Stack]:
    """90 people, each in a team of their own with a 64-character name."""
    del engine
    people = [f"U0MANY{index:03d}" for index in range(TEAM_COUNT)]
    teams = ",".join(f"{_team_name(i)}=S0T{i:03d}" for i in range(TEAM_COUNT))
    async with running_stack(
        database_url,
        clock,
        employees=people,
        channels={channel: [MANAGER] for channel in LEADERSHIP},
        TRUSTBOT_LEADERSHIP_CHANNELS=",".join(LEADERSHIP),
        TRUSTBOT_TEAMS=teams,
        TRUSTBOT_SEND_RATE="1000",
        TRUSTBOT_SEND_BURST="1000",
    ) as running:
        for i, person in enumerate(people):
            running.emulator.usergroups[f"S0T{i:03d}"] = [person]
        yield running


async def test_a_long_digest_stays_within_block_kit_in_every_message(big_stack: Stack) -> None:
    stack = big_stack
    people = [f"U0MANY{index:03d}" for index in range(TEAM_COUNT)]
    stack.clock.now -= timedelta(weeks=1)
    await stack.prompt()
    await stack.answer(dict.fromkeys(people[:5], 4))
    await stack.next_week()
    await stack.prompt()
    await stack.answer(dict.fromkeys(people[:4], 5))  # k + 1: the week's stories are shown
    # Stories as long as the modal allows, of characters Slack makes longer when escaped.
    for number, person in enumerate(people[:4]):
        words = (f"Story {number}: <!channel> & <@U0BOSS> > " * 60)[:2000]
        await stack.share_story(person, words, "named" if number % 2 else "anonymous")

    await _send_digest(stack)

    for channel in LEADERSHIP:
        messages = _digest_messages(stack, channel)
        for message in messages:
            _assert_within_block_kit(message.blocks)
        text = "\n".join(text for message in messages for text in _texts(message.blocks))
        # Every team is there, each once (the table runs over several sections), and every
        # one is "not enough answers": each has one member.
        for number in range(TEAM_COUNT):
            assert text.count(_team_name(number)) == 1, number
        assert text.count("not enough answers") >= TEAM_COUNT
        # Three stories, escaped and cut to fit: no mention or broadcast can fire.
        assert len(re.findall(r"— .+ · 2026-W48 · #2", text)) == 3
        assert "<!channel>" not in text
        assert "<@U0BOSS>" not in text
        assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt; &gt;" in text
        assert len(stack.emulator.files_in(channel)) == 1
