"""Every interaction through both platforms' translation layers: Slack and Teams must agree.

Each row of the table is one interaction (the pause command, the report request, a score
click, a story) with what the core should decide. It runs through Slack's listener functions
(with a recording stand-in for the Web API) and through Teams' handlers (with a recording
stand-in for the turn context), each for its own person, and checks that both people were told
the same catalogue text, in their own language, with their platform's command names, and that
the same thing was stored. The use cases themselves run for real, on both databases.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FixedClock, make_settings
from tests.factories import closed_round_with_teams, sent_prompt
from trustbot.app import open_services
from trustbot.concurrency import BackgroundWork
from trustbot.core.catalogue import Language, text
from trustbot.core.interactions import Commands, Reply
from trustbot.core.people import set_language
from trustbot.core.prompts import Actor, PromptAddress, prompt_state
from trustbot.core.rounds import open_round
from trustbot.core.services import Services
from trustbot.db.models import Reaction, Round
from trustbot.slack.blocks.ids import (
    STORY_TEXT_ACTION,
    STORY_TEXT_BLOCK,
    STORY_VISIBILITY_ACTION,
    STORY_VISIBILITY_BLOCK,
)
from trustbot.slack.blocks.story import StoryContext
from trustbot.slack.listeners.actions.score import apply_score_click
from trustbot.slack.listeners.commands.trust_prompts import answer_trust_prompts
from trustbot.slack.listeners.commands.trust_report import answer_trust_report
from trustbot.slack.listeners.context import DEPS_KEY, SLACK_COMMANDS, ListenerDeps
from trustbot.slack.listeners.events.reactions import count_reaction
from trustbot.slack.listeners.views.story_submit import handle_story_submit
from trustbot.teams.app import TEAMS_COMMANDS, TeamsHandlers
from trustbot.teams.cards import SCORE_VERB, STORY_INPUT, STORY_VERB, VISIBILITY_INPUT

SLACK_USER, SLACK_DM, TS = "U0ALICE", "D0ALICE", "1764151200.000100"
TEAMS_USER, TEAMS_CHAT, ACTIVITY = (
    "0f0e0d0c-0000-4000-8000-00000000a11c",
    "a:1teams-chat-alice",
    "1764151200100",
)
ACTED = "1795687300.000001"  # 10:01:40 UTC on the clock fixture's day: after the round opened


def _texts(value: Any) -> list[str]:
    """Every string inside a card, a Block Kit payload or a plain answer."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _texts(item)]
    if isinstance(value, list | tuple):
        return [t for item in value for t in _texts(item)]
    return []


@dataclass
class World:
    """One company on both platforms: a round whose prompt reached Alice on each."""

    services: Services
    round_id: int
    seen: list[str] = field(default_factory=list)


class FakeSlack:
    """The Slack Web API calls the listeners make, recorded; every call succeeds."""

    def __init__(self, seen: list[str]) -> None:
        self.seen = seen

    async def chat_postEphemeral(self, **kwargs: Any) -> dict[str, Any]:
        self.seen.append(kwargs["text"])
        return {"ok": True}

    async def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        return {"ok": True}

    async def conversations_open(self, **kwargs: Any) -> dict[str, Any]:
        return {"ok": True, "channel": {"id": SLACK_DM}}

    async def files_upload_v2(self, **kwargs: Any) -> dict[str, Any]:
        return {"ok": True}

    async def usergroups_users_list(self, **kwargs: Any) -> dict[str, Any]:
        return {"ok": True, "users": []}


class SlackSide:
    """Alice on Slack: what she does goes through Slack's listener functions."""

    name = "slack"
    commands: Commands = SLACK_COMMANDS
    actor = Actor("slack", SLACK_USER)
    address = PromptAddress(SLACK_DM, TS)

    def __init__(self, world: World) -> None:
        self.world = world
        self.deps = ListenerDeps(world.services, BackgroundWork())
        self.client: Any = FakeSlack(world.seen)

    async def _respond(self, **kwargs: Any) -> None:
        self.world.seen.extend(_texts(kwargs.get("blocks")) or [kwargs["text"]])

    async def prompts(self, arguments: str) -> None:
        command = {"user_id": SLACK_USER, "text": arguments}
        await answer_trust_prompts(self.deps, command, self._respond)  # type: ignore[arg-type]

    async def report(self, arguments: str) -> None:
        command = {"user_id": SLACK_USER, "text": arguments}
        await answer_trust_report(self.deps, command, self.client, self._respond)  # type: ignore[arg-type]

    async def score(self, round_id: object, score: object) -> None:
        body = {
            "user": {"id": SLACK_USER},
            "container": {"channel_id": SLACK_DM, "message_ts": TS},
            "actions": [{"value": f"{round_id}:{score}", "action_ts": ACTED}],
        }
        await apply_score_click(self.deps, self.client, body)

    async def reaction(self, emoji: str, added: bool) -> None:
        event = {
            "type": "reaction_added" if added else "reaction_removed",
            "user": SLACK_USER,
            "item": {"type": "message", "channel": SLACK_DM, "ts": TS},
            "reaction": emoji,
            "event_ts": ACTED if added else "1795687300.000002",
        }
        await count_reaction(self.deps, event)

    async def story(self, round_id: int, story: str, visibility: str) -> None:
        values = {
            STORY_TEXT_BLOCK: {STORY_TEXT_ACTION: {"value": story}},
            STORY_VISIBILITY_BLOCK: {
                STORY_VISIBILITY_ACTION: {"selected_option": {"value": visibility}}
            },
        }
        metadata = StoryContext(round_id, SLACK_DM, TS).encode()
        body = {
            "user": {"id": SLACK_USER},
            "view": {"id": "V0STORY", "private_metadata": metadata, "state": {"values": values}},
        }

        async def ack(**kwargs: Any) -> None:
            self.world.seen.extend(_texts(kwargs.get("errors") or kwargs.get("view")))

        await handle_story_submit(ack, body, {DEPS_KEY: self.deps})  # type: ignore[arg-type]


class TeamsSide:
    """Alice on Teams: what she does goes through Teams' activity handlers."""

    name = "teams"
    commands: Commands = TEAMS_COMMANDS
    actor = Actor("teams", TEAMS_USER)
    address = PromptAddress(TEAMS_CHAT, ACTIVITY)

    def __init__(self, world: World) -> None:
        self.world = world
        self.handlers = TeamsHandlers(world.services)

    def _activity(self, **values: Any) -> SimpleNamespace:
        fields: dict[str, Any] = {"text": "", "value": None, **values}
        return SimpleNamespace(
            id="activity-1",
            conversation=SimpleNamespace(
                id=TEAMS_CHAT, conversation_type="personal", tenant_id="tenant"
            ),
            from_=SimpleNamespace(aad_object_id=TEAMS_USER, name="Alice"),
            recipient=SimpleNamespace(id="28:bot"),
            service_url="http://127.0.0.1:1/teams/",
            reply_to_id=ACTIVITY,
            timestamp=datetime.fromtimestamp(1795687300.000001, UTC),
            **fields,
        )

    async def _message(self, typed: str) -> None:
        async def send(message: Any) -> None:
            self.world.seen.extend(_texts([a.content for a in message.attachments]))

        await self.handlers.on_message(
            SimpleNamespace(activity=self._activity(text=typed), send=send)  # type: ignore[arg-type]
        )

    async def prompts(self, arguments: str) -> None:
        await self._message(f"trust-prompts {arguments}")

    async def report(self, arguments: str) -> None:
        await self._message(f"trust-report {arguments}")

    async def _invoke(self, verb: str, data: dict[str, Any]) -> None:
        action = SimpleNamespace(verb=verb, data=data)
        activity = self._activity()
        activity.value = SimpleNamespace(action=action)
        response = await self.handlers.on_card_action(
            SimpleNamespace(activity=activity)  # type: ignore[arg-type]
        )
        self.world.seen.extend(_texts(response["body"]["value"]))

    async def reaction(self, emoji: str, added: bool) -> None:
        reactions = [SimpleNamespace(type=emoji)]
        activity = self._activity(
            reactions_added=reactions if added else None,
            reactions_removed=None if added else reactions,
        )
        if not added:
            activity.timestamp = datetime.fromtimestamp(1795687300.000002, UTC)
        await self.handlers.on_message_reaction(
            SimpleNamespace(activity=activity)  # type: ignore[arg-type]
        )

    async def score(self, round_id: object, score: object) -> None:
        await self._invoke(SCORE_VERB, {"round": round_id, "score": score})

    async def story(self, round_id: int, story: str, visibility: str) -> None:
        await self._invoke(
            STORY_VERB, {"round": round_id, STORY_INPUT: story, VISIBILITY_INPUT: visibility}
        )


Side = SlackSide | TeamsSide
Step = Callable[[Side, World], Awaitable[None]]


@dataclass(frozen=True)
class Row:
    """One interaction: what the person does, and what the core must have told them."""

    name: str
    act: Step
    told: str | None  # the catalogue key both people are told (None: checked by `stored`)
    values: dict[str, object] = field(default_factory=dict)
    language: Language = "en"
    stored: int | None = None  # the score both prompts show as stored afterwards
    reactions: int = 0  # the reactions counted on the person's prompt afterwards
    before: Step | None = None


async def _danish(side: Side, world: World) -> None:
    await set_language(world.services, actor=side.actor, language="da")


async def _close(side: Side, world: World) -> None:
    async with world.services.transaction() as session:
        round_ = await session.get(Round, world.round_id)
        assert round_ is not None
        round_.closed_at = world.services.now()


async def _no_viewers(side: Side, world: World) -> None:
    world.services.settings.report_viewers = []
    world.services.settings.teams_report_viewers = []


async def _reacted(side: Side, world: World) -> None:
    await side.reaction("like", True)


async def _paused(side: Side, world: World) -> None:
    await side.prompts("pause")


def _do(method: str, *args: object) -> Step:
    async def step(side: Side, world: World) -> None:
        resolved = [world.round_id if arg is ROUND else arg for arg in args]
        await getattr(side, method)(*resolved)

    return step


ROUND = object()  # stands for this world's round id
USAGE = {"max": 52, "default": 8}
EIGHT = {"weeks": 8}
DA: dict[str, Any] = {"language": "da", "before": _danish}
CLOSED: dict[str, Any] = {"before": _close}
TABLE = [
    Row("a bare prompts command tells the status", _do("prompts", ""), "pause.status.active"),
    Row("an unknown word tells the status", _do("prompts", "later"), "pause.status.active"),
    Row("pause", _do("prompts", "pause"), "pause.done"),
    Row("stop is pause", _do("prompts", "stop"), "pause.done"),
    Row("resume", _do("prompts", "resume"), "pause.resumed", before=_paused),
    Row("start is resume", _do("prompts", "START"), "pause.resumed", before=_paused),
    Row("status when paused", _do("prompts", ""), "pause.status.paused", before=_paused),
    Row("in the person's language", _do("prompts", "pause"), "pause.done", **DA),
    Row("the report's usage", _do("report", "99"), "report.usage", USAGE),
    Row("an unknown team", _do("report", "team=Nowhere"), "report.usage", USAGE),
    Row("a team a setting names", _do("report", "team=sales"), "report.title", EIGHT),
    Row("a team with figures", _do("report", 'team="Customer care"'), "report.title", EIGHT),
    Row("the report is for viewers", _do("report", ""), "report.refused", before=_no_viewers),
    Row("the report", _do("report", "4"), "report.title", {"weeks": 4}),
    Row("the viewer's language", _do("report", "4"), "report.title", {"weeks": 4}, **DA),
    Row("a score", _do("score", ROUND, 4), None, stored=4),
    Row("a score out of range", _do("score", ROUND, 9), "error.bad_action"),
    Row("another round's button", _do("score", 987654, 3), "error.unknown_round"),
    Row("a score after the close", _do("score", ROUND, 2), "error.round_closed", **CLOSED),
    Row("a reaction on one's prompt", _do("reaction", "like", True), None, reactions=1),
    Row("a reaction taken back", _do("reaction", "like", False), None, before=_reacted),
    Row("an empty story", _do("story", ROUND, "   ", "named"), "story.error.empty"),
    Row("an anonymous story", _do("story", ROUND, "Yes.", "anonymous"), "story.saved.anonymous"),
    Row("a named story", _do("story", ROUND, "It helped.", "named"), "story.saved.named"),
    Row("a private story", _do("story", ROUND, "Mine.", "private"), "story.saved.private"),
    Row(
        "a late story", _do("story", ROUND, "Late.", "named"), "story.error.round_closed", **CLOSED
    ),
    Row("another round's story", _do("story", 987654, "Hm.", "named"), "story.error.round_gone"),
    Row(
        "a story too long",
        _do("story", ROUND, "x" * 2001, "private"),
        "story.error.too_long",
        {"limit": 2000, "length": 2001},
    ),
]


@pytest.fixture
async def world(engine: AsyncEngine, database_url: str, clock: FixedClock) -> World:
    """Alice on both platforms, a report viewer on each; her prompt delivered on each."""
    settings = make_settings(
        database_url,
        TRUSTBOT_REPORT_VIEWERS=SLACK_USER,
        TRUSTBOT_TEAMS_REPORT_VIEWERS=TEAMS_USER,
        TRUSTBOT_TEAMS="Sales=S0SALES",
    )
    async with open_services(settings, clock=clock, prepare=False, engine=engine) as services:
        async with services.transaction() as session:
            round_, _ = await open_round(
                session=session, rules=services.rules, period=services.current_period(), now=clock()
            )
            session.add(sent_prompt(services, round_, user_id=SLACK_USER, channel=SLACK_DM, ts=TS))
            session.add(
                sent_prompt(
                    services,
                    round_,
                    user_id=TEAMS_USER,
                    channel=TEAMS_CHAT,
                    ts=ACTIVITY,
                    platform="teams",
                )
            )
        # An earlier week with figures for a team no setting names any more.
        await closed_round_with_teams(services, "2020-W01", ["Customer care"])
        yield World(services, round_.id)


async def _reactions(world: World, actor: Actor) -> int:
    person = world.services.keys.pseudonym(actor.user_id, actor.platform)
    async with world.services.sessions() as session:
        return len(
            list(
                await session.scalars(
                    select(Reaction.emoji).where(
                        Reaction.reactor
                        == world.services.keys.reaction_handle(person, world.round_id),
                        Reaction.present,
                    )
                )
            )
        )


@pytest.mark.parametrize("row", TABLE, ids=[row.name for row in TABLE])
async def test_both_platforms_tell_the_same(world: World, row: Row) -> None:
    outcomes: dict[str, tuple[bool, int | None, int]] = {}
    for side in (SlackSide(world), TeamsSide(world)):
        if row.before is not None:
            await row.before(side, world)
        world.seen.clear()
        await row.act(side, world)
        seen = "\n".join(world.seen)
        told = (
            row.told is None
            or Reply(row.told, row.language, row.values).text(side.commands) in seen
        )
        assert told, f"{side.name} was told {world.seen!r}, not {row.told}"
        for other in (SLACK_COMMANDS, TEAMS_COMMANDS):  # never the other platform's commands
            if other != side.commands:
                assert f"`{other.prompts} " not in seen
                assert f"`{other.report} " not in seen
        state = await prompt_state(
            world.services, actor=side.actor, address=side.address, round_id=world.round_id
        )
        reactions = await _reactions(world, side.actor)
        outcomes[side.name] = (told, None if state is None else state.score, reactions)
        assert outcomes[side.name][1:] == (row.stored, row.reactions), side.name
    assert outcomes["slack"] == outcomes["teams"]


def test_the_table_covers_every_reply_a_use_case_gives() -> None:
    """Every key the core's use cases can reply with appears in the table, or is a failure
    (tested with a broken database in tests/unit/core/test_interactions.py)."""
    import re
    from pathlib import Path

    import trustbot.core.interactions as interactions

    source = Path(interactions.__file__).read_text()
    keys = set(re.findall(r'Reply\("([a-z_.]+)"', source)) | set(
        re.findall(r'"((?:pause|story|error|report)\.[a-z_.]+)"', source)
    )
    failures = {k for k in keys if k.endswith("failed")} | {"story.saved."}  # f"…{visibility}"
    covered = {row.told for row in TABLE} | {"report.private"}  # Slack is always private
    assert keys - failures - covered == set()
    assert all(text(key, "en", prompts="p", report="r", **USAGE) for key in keys - failures)
