"""Slack listeners, one callback per module; each package only registers them."""

from slack_bolt.async_app import AsyncApp

from trustbot.slack.listeners import actions, commands, events, views


def register(app: AsyncApp) -> None:
    """Attach every listener to the app (the catch-all action goes last)."""
    commands.register(app)
    events.register(app)
    views.register(app)
    actions.register(app)
