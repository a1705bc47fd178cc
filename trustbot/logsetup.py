"""Logging set-up: secrets never reach a log line, and neither do people's answers.

Secrets (and anything shaped like a Slack token) are masked in the whole formatted record,
traceback included. Libraries that log request and response bodies at debug level (slack_sdk,
bolt, aiosqlite) are held at INFO even when TRUSTBOT_LOG_LEVEL=debug: a body can hold a DM
channel next to a score, or a story's text, and a statement its parameters. Database errors are
logged without SQL or parameters (the engine hides them; see db/errors.py).
"""

from __future__ import annotations

import logging
import re

from trustbot.config import Settings

_TOKEN = re.compile(r"xox[abpe]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")


# Loggers that print request or response bodies, or SQL with its parameters, below INFO
# (aiosqlite logs every statement with its values at DEBUG: a pseudonym next to a score).
BODY_LOGGERS = (
    "slack_sdk",
    "slack_bolt",
    "trustbot.slack",
    "httpx",
    "httpcore",
    "aiohttp",
    "aiosqlite",
    "psycopg",
    "sqlalchemy",
    "matplotlib",
    "PIL",
)


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


class Floor(logging.Filter):
    """Drops records below a level: unlike setLevel, it holds when a library resets the level
    (Microsoft's Teams SDK sets the httpx logger's level each time it builds a client)."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


def _hold_at(name: str, level: int) -> None:
    log = logging.getLogger(name)
    log.setLevel(level)
    for old in [f for f in log.filters if isinstance(f, Floor)]:
        log.removeFilter(old)
    log.addFilter(Floor(level))


def _release(name: str) -> None:
    log = logging.getLogger(name)
    log.setLevel(logging.NOTSET)
    for old in [f for f in log.filters if isinstance(f, Floor)]:
        log.removeFilter(old)


class RedactingFormatter(logging.Formatter):
    """Masks secrets in the finished line, traceback and all (a filter sees only the message)."""

    def __init__(self, redactor: RedactSecrets, fmt: str) -> None:
        super().__init__(fmt)
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self._redactor.redact(super().format(record))


def configure_logging(settings: Settings) -> None:
    """Log to stderr at TRUSTBOT_LOG_LEVEL, with secrets redacted."""
    secrets = [
        value.get_secret_value()
        for value in (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.pseudonym_key,
            settings.teams_client_secret,
        )
        if value is not None
    ]
    handler = logging.StreamHandler()
    redactor = RedactSecrets(secrets)
    handler.setFormatter(
        RedactingFormatter(redactor, "%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    )
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for talker in BODY_LOGGERS:
        if logging.getLogger(talker).getEffectiveLevel() < logging.INFO:
            _hold_at(talker, logging.INFO)
    # httpx logs each request's URL at INFO (a Teams conversation id is an address); a
    # per-request access line costs at 200 clicks/s.
    for noisy in ("sqlalchemy.engine", "httpx", "uvicorn.access", "alembic"):
        _hold_at(noisy, logging.WARNING)
    # APScheduler says at INFO that it adds each job (twice); its DEBUG lines (job names and
    # times, nothing personal) are for someone who asked for debug.
    if settings.log_level == "debug":
        _release("apscheduler")
    else:
        _hold_at("apscheduler", logging.WARNING)
