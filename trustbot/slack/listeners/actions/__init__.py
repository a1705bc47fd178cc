"""Button clicks."""

import re

from slack_bolt.async_app import AsyncApp

from trustbot.slack.blocks.ids import PROMPT_MENU_ACTION, SCORE_ACTION, SHARE_STORY_ACTION
from trustbot.slack.listeners.actions.prompt_menu import handle_prompt_menu
from trustbot.slack.listeners.actions.score import handle_score_click
from trustbot.slack.listeners.actions.share_story import handle_share_story
from trustbot.slack.listeners.actions.unknown import handle_unknown_action


def register(app: AsyncApp) -> None:
    """Register the prompt's buttons, the score first: it is the commonest click."""
    app.action(SCORE_ACTION)(handle_score_click)
    app.action(SHARE_STORY_ACTION)(handle_share_story)
    app.action(PROMPT_MENU_ACTION)(handle_prompt_menu)


def register_catch_all(app: AsyncApp) -> None:
    """Answer any other action; bolt runs the first listener that matches, so this goes last."""
    app.action(re.compile(".*"))(handle_unknown_action)
