"""Events API events."""

from slack_bolt.async_app import AsyncApp

from trustbot.slack.blocks.ids import HOME_LANGUAGE_ACTION, HOME_PAUSE_ACTION
from trustbot.slack.listeners.events.app_home import (
    handle_app_home_opened,
    handle_home_language,
    handle_home_pause,
)
from trustbot.slack.listeners.events.reactions import handle_reaction


def register(app: AsyncApp) -> None:
    """Register the event listeners (and the home tab's own actions)."""
    app.event("reaction_added")(handle_reaction)
    app.event("reaction_removed")(handle_reaction)
    app.event("app_home_opened")(handle_app_home_opened)
    app.action(HOME_PAUSE_ACTION)(handle_home_pause)
    app.action(HOME_LANGUAGE_ACTION)(handle_home_language)
