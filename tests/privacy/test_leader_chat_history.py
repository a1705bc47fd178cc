"""A leader with a Teams compliance search (or a Slack export) reads people's chat histories
with the bot beside the week's stories in the report: nothing in a history says more than
"answered" (not whether a story was told, nor how it was shared), so no anonymous story can be
matched to its author. On Teams a story is answered with a transient message (an
`application/vnd.microsoft.activity.message` invoke response, kept nowhere) and the prompt card
stays as it was; the weakened rule (the card replaced by one that says what became of the
story, as trustbot had it) is told apart by the same comparison.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.privacy.leader import DEV, TEAMS_LEADER, TEAMS_PEOPLE, Company
from tests.teams_cards import cards_in
from trustbot.core.anecdotes import MAX_STORY_LENGTH
from trustbot.core.catalogue import text
from trustbot.core.prompts import Actor, PromptAddress, prompt_state
from trustbot.devtools.teams_emulator import TeamsUser
from trustbot.teams.app import TeamsHandlers, _prompt_card

TRANSIENT = "application/vnd.microsoft.activity.message"


def teams_history(firm: Company, person: TeamsUser) -> list[str]:
    """What a compliance search reads of a person's chat: every card as it stands now, and
    every text, without the ids that differ from person to person."""
    history = []
    for sent in firm.teams.activities_in(firm.teams.personal_conversation(person)):
        history.append(json.dumps([sent.text, cards_in(sent.activity)], sort_keys=True))
    return history


def slack_history(firm: Company, user: str) -> list[str]:
    """A Slack export of a person's DM with the bot: each message as it stands now."""
    return [
        json.dumps([message.text, message.blocks, message.updates], sort_keys=True)
        for message in firm.slack.messages_in(firm.slack.dm_channel_for(user))
    ]


async def _a_week_of_stories(firm: Company) -> dict[str, Any]:
    """Everyone answers 4; on Teams, one person shares a story anonymously, one with their
    name, one keeps it private, and the leader tells none (but tries one too long); on Slack
    one person tells a story and another does not."""
    await firm.prompt()
    await firm.answer(
        [*((p, 4) for p in TEAMS_PEOPLE), (TEAMS_LEADER, 4), (DEV[0], 4), (DEV[1], 4)]
    )
    answers = {}
    for person, visibility in zip(TEAMS_PEOPLE, ("anonymous", "named", "private"), strict=True):
        answers[visibility] = await firm.tell(person, f"A story, {visibility}", visibility)
    answers["too long"] = await firm.tell(TEAMS_LEADER, "x" * (MAX_STORY_LENGTH + 1), "anonymous")
    await firm.tell(DEV[0], "A story told on Slack, anonymously", "anonymous")
    return answers


async def test_no_chat_history_tells_a_story_from_no_story(firm: Company) -> None:
    answers = await _a_week_of_stories(firm)

    # Each story had its answer, for that person only, and kept nowhere.
    for visibility in ("anonymous", "named", "private"):
        assert answers[visibility]["type"] == TRANSIENT
        assert answers[visibility]["value"] == text(f"story.saved.{visibility}", "en")
    assert answers["too long"]["type"] == TRANSIENT  # and the card keeps what was typed
    # Four Teams histories, four different stories (or none): the very same chat.
    histories = [teams_history(firm, person) for person in [*TEAMS_PEOPLE, TEAMS_LEADER]]
    assert all(history == histories[0] for history in histories[1:])
    assert "Answered" in histories[0][0]
    for visibility in ("anonymous", "named", "private"):  # no confirmation stayed anywhere
        assert text(f"story.saved.{visibility}", "en") not in " ".join(histories[0])
    # On Slack too (the story went through a modal, which no history keeps).
    assert slack_history(firm, DEV[0]) == slack_history(firm, DEV[1])


async def test_the_comparison_tells_them_apart_on_a_weakened_rule(
    firm: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    told = TeamsHandlers._story

    async def card_that_says_so(
        self: TeamsHandlers, activity: Any, data: dict[str, Any], actor: Actor
    ) -> Any:
        said = await told(self, activity, data, actor)
        address = PromptAddress(str(activity.conversation.id), str(activity.reply_to_id or ""))
        state = await prompt_state(
            self._services, actor=actor, address=address, round_id=data["round"]
        )
        assert state is not None
        return _prompt_card(state, "en", note=said.text)

    monkeypatch.setattr(TeamsHandlers, "_story", card_that_says_so)

    await _a_week_of_stories(firm)

    histories = [teams_history(firm, person) for person in [*TEAMS_PEOPLE, TEAMS_LEADER]]
    assert len({json.dumps(history) for history in histories}) == 4
    assert "without your name" in histories[0][0]
