"""Logging set-up: secrets never reach a log line, and neither do people's words or answers.

Secrets (and anything shaped like a Slack token) are masked in the whole formatted record,
traceback included. Libraries that log request and response bodies at debug level (slack_sdk,
bolt, aiosqlite, the Teams SDK) are held at INFO even when TRUSTBOT_LOG_LEVEL=debug: a body can
hold a DM channel next to a score, or a story's text, and a statement its parameters. What the
chat SDKs log at INFO and above keeps its own words but loses every value it interpolates, and
no exception's message is printed (only its type and where it was raised): pydantic's
validation errors, for one, quote the input they refused, which can be a person's story. Both
are done by the handler, so they hold for records of every child logger (a filter on a parent
logger does not see records its children propagate). Database errors are logged without SQL or
parameters (the engine hides them; see db/errors.py).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from trustbot.config import Settings

REQUEST_ID: ContextVar[str | None] = ContextVar("trustbot_request_id", default=None)
"""The id of the HTTP request being handled (set by web.RequestObserver), on each log line."""
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s]: %(message)s"
# JSON lines: these record attributes, renamed as a log pipeline expects them, after an ISO 8601
# "timestamp" in UTC; nothing else (no `extra=` a library passes, which can hold anything).
JSON_FIELDS = ("levelname", "name", "request_id", "message")
JSON_RENAMES = {"levelname": "level", "name": "logger"}
JSON_KEYS = frozenset({"timestamp", "level", "logger", "request_id", "message", "exc_info"})

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
    "microsoft_teams",
)
# The chat SDKs: what they log can quote a request (bolt's "Unhandled request" names a dialog's
# submission, the Teams SDK logs an invalid activity with its input).
LIBRARY_LOGGERS = ("microsoft_teams", "slack_bolt", "slack_sdk")
# Their lines without anything interpolated, which are worth keeping word for word.
SAFE_LIBRARY_LINES = frozenset(
    {
        "Teams app initialized successfully",
        "Teams app started successfully",
        "Teams app shutting down",
        "Teams app stopped",
        "No token provided",
        "Token missing serviceurl claim",
    }
)
_SPECIFIER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
WITHHELD = "[withheld]"


class RedactSecrets(logging.Filter):
    """Replace configured secrets and anything shaped like a Slack token with ***."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        kept = [secret for secret in secrets if len(secret) >= 6]
        # Also as a JSON string holds it (a quote or backslash in it is escaped there).
        self._secrets = list(dict.fromkeys(kept + [json.dumps(secret)[1:-1] for secret in kept]))

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


class WithholdLibraryDetails(logging.Filter):
    """A chat SDK's line keeps its words and loses every value in it: a template's arguments
    become [withheld], and a line formatted before logging (an f-string, an object) is replaced
    by its level and logger unless it is one of SAFE_LIBRARY_LINES."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(LIBRARY_LOGGERS):
            return True
        if record.args and isinstance(record.msg, str):
            record.msg = _SPECIFIER.sub(
                lambda match: "%%" if match.group() == "%%" else WITHHELD, record.msg
            )
        elif not (isinstance(record.msg, str) and record.msg in SAFE_LIBRARY_LINES):
            record.msg = f"a {record.levelname.lower()} line from {record.name}, {WITHHELD}"
        record.args = None
        return True


class RefusalIsNoError(logging.Filter):
    """Microsoft's SDK logs every token it refuses at ERROR, then the refusal at WARNING: a
    forged or expired token is an attacker's or a clock's doing, answered 401, not the operator's
    alarm. Its ERROR becomes a WARNING (docs/security.md)."""

    LOGGERS = ("microsoft_teams.apps.auth.token_validator",)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and record.name in self.LOGGERS:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def withheld_traceback(
    kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
) -> str:
    """A traceback with every frame but no exception's message (a message can quote input)."""
    lines: list[str] = []
    seen: set[int] = set()
    chain: list[BaseException] = []
    current = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    for index, each in enumerate(reversed(chain)):
        if index:
            lines.append(
                "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
        frames = each.__traceback__ if each is not error else tb
        if frames is not None:
            lines.append("Traceback (most recent call last):\n")
            lines += traceback.format_tb(frames)
        lines.append(f"{type(each).__module__}.{type(each).__qualname__}: {WITHHELD}\n")
    if not chain and kind is not None:
        lines.append(f"{kind.__module__}.{kind.__qualname__}: {WITHHELD}\n")
    return "".join(lines).rstrip("\n")


class AddRequestId(logging.Filter):
    """Puts the id of the request being handled on the record ("-" outside any request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object per line, with secrets masked and exception messages withheld as in the
    text format (the masking runs on the finished line, so a secret is caught inside any field)."""

    def __init__(self, redactor: RedactSecrets) -> None:
        super().__init__(
            list(JSON_FIELDS), rename_fields=JSON_RENAMES, timestamp=True, json_ensure_ascii=False
        )
        self._redactor = redactor

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for key in [key for key in log_data if key not in JSON_KEYS]:
            del log_data[key]

    def format(self, record: logging.LogRecord) -> str:
        return self._redactor.redact(super().format(record))

    def formatException(self, ei: Any) -> str:
        return withheld_traceback(*ei)


def log_format(settings: Settings) -> str:
    """json or text: as set, else JSON unless the logs go to a terminal."""
    if settings.log_format is not None:
        return settings.log_format
    return "text" if sys.stderr.isatty() else "json"


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

    def formatException(self, ei: Any) -> str:
        return withheld_traceback(*ei)


def configure_logging(settings: Settings) -> None:
    """Log to stderr at TRUSTBOT_LOG_LEVEL, as JSON or text (TRUSTBOT_LOG_FORMAT), with the
    request's id on each line and secrets redacted."""
    secrets = [
        value.get_secret_value()
        for value in (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.pseudonym_key,
            settings.teams_client_secret,
            settings.metrics_token,
        )
        if value is not None
    ]
    handler = logging.StreamHandler()
    redactor = RedactSecrets(secrets)
    if log_format(settings) == "json":
        handler.setFormatter(RedactingJsonFormatter(redactor))
    else:
        handler.setFormatter(RedactingFormatter(redactor, TEXT_FORMAT))
    handler.addFilter(RefusalIsNoError())
    handler.addFilter(WithholdLibraryDetails())
    handler.addFilter(redactor)
    handler.addFilter(AddRequestId())
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
