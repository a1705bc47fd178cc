"""Modal submissions."""

from slack_bolt.async_app import AsyncApp

from trustbot.slack.blocks.ids import STORY_CALLBACK
from trustbot.slack.listeners.views.story_submit import handle_story_submit


def register(app: AsyncApp) -> None:
    """Register the view listeners."""
    app.view(STORY_CALLBACK)(handle_story_submit)
