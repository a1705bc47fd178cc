"""Slack: the bolt app, thin listeners, Block Kit builders and the Slack Notifier."""
