"""Logging set-up, with a filter that keeps secret values out of every log line."""

from __future__ import annotations

import logging
import re

from trustbot.config import Settings

_TOKEN = re.compile(r"xox[abpe]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")


class RedactSecrets(logging.Filter):
    """Replace configured secrets and anything shaped like a Slack token with ***."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if len(secret) >= 6]

    def redact(self, message: str) -> str:
        """The message with every secret masked."""
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return _TOKEN.sub("***", message)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(settings: Settings) -> None:
    """Log to stderr at TRUSTBOT_LOG_LEVEL, with secrets redacted."""
    secrets = [
        value.get_secret_value()
        for value in (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.pseudonym_key,
        )
        if value is not None
    ]
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("sqlalchemy.engine", "httpx", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
