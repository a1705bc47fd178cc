"""Slack listeners, one callback per module; each package only registers them."""

from slack_bolt.async_app import AsyncApp

from trustbot.slack.listeners import actions, commands, events, views


def register(app: AsyncApp) -> None:
    """Attach every listener to the app.

    bolt tries the listeners in the order they were added, running each one's matchers until one
    matches, so the order is by how often each kind arrives: prompt clicks first (a score click
    is the commonest request by far), the catch-all action last.
    """
    actions.register(app)
    events.register(app)
    views.register(app)
    commands.register(app)
    actions.register_catch_all(app)
