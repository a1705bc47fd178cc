"""Events API events."""

from slack_bolt.async_app import AsyncApp

from trustbot.slack.listeners.events.reactions import handle_reaction


def register(app: AsyncApp) -> None:
    """Register the event listeners."""
    app.event("reaction_added")(handle_reaction)
    app.event("reaction_removed")(handle_reaction)
