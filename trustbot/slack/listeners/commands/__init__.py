"""Slash commands."""

from slack_bolt.async_app import AsyncApp

from trustbot.slack.listeners.commands.trust_prompts import (
    TRUST_PROMPTS_COMMAND,
    handle_trust_prompts,
)
from trustbot.slack.listeners.commands.trust_report import TRUST_REPORT_COMMAND, handle_trust_report


def register(app: AsyncApp) -> None:
    """Register the slash commands."""
    app.command(TRUST_REPORT_COMMAND)(handle_trust_report)
    app.command(TRUST_PROMPTS_COMMAND)(handle_trust_prompts)
