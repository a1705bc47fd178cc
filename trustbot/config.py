"""Settings: read once from the environment and `.env`, validated before anything starts."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from trustbot.core.periods import parse_period
from trustbot.core.rules import RulesFileError, load_rules
from trustbot.scheduler.cron import CronError, cron_trigger, parse_duration

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///trustbot.db"
MIN_PSEUDONYM_KEY_LENGTH = 32
_PLACEHOLDERS = {"changeme", "change-me", "change_me", "secret", "xxx", "todo"}

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_TEAM_NAME = re.compile(r"^[\w .-]{1,64}$")

CommaList = Annotated[list[str], NoDecode]


def _split_ids(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _check_ids(ids: list[str], allowed: list[tuple[re.Pattern[str], str]], what: str) -> list[str]:
    for slack_id in ids:
        if not any(pattern.match(slack_id) for pattern, _ in allowed):
            kinds = ", ".join(kind for _, kind in allowed)
            raise ValueError(f"{slack_id!r} is not a {what} id ({kinds})")
    return ids


class Settings(BaseSettings):
    """Every setting of trustbot; field aliases are the environment variable names."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
        env_ignore_empty=True,
    )

    # Slack
    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default=DEFAULT_SLACK_API_URL, alias="SLACK_API_URL")

    # Storage
    database_url: str = Field(default=DEFAULT_DATABASE_URL, alias="TRUSTBOT_DATABASE_URL")
    auto_migrate: bool = Field(default=False, alias="TRUSTBOT_AUTO_MIGRATE")
    pseudonym_key: SecretStr | None = Field(default=None, alias="TRUSTBOT_PSEUDONYM_KEY")

    # Server
    host: str = Field(default="127.0.0.1", alias="TRUSTBOT_HOST")
    port: int = Field(default=3000, ge=1, le=65535, alias="TRUSTBOT_PORT")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", alias="TRUSTBOT_LOG_LEVEL"
    )

    # Culture programme
    timezone: str = Field(default="Europe/Copenhagen", alias="TRUSTBOT_TIMEZONE")
    language: Literal["da", "en"] = Field(default="da", alias="TRUSTBOT_LANGUAGE")
    audience: CommaList = Field(default_factory=list, alias="TRUSTBOT_AUDIENCE")
    report_viewers: CommaList = Field(default_factory=list, alias="TRUSTBOT_REPORT_VIEWERS")
    leadership_channels: CommaList = Field(
        default_factory=list, alias="TRUSTBOT_LEADERSHIP_CHANNELS"
    )
    rules_file: Path | None = Field(default=None, alias="TRUSTBOT_RULES_FILE")
    min_group_size: int = Field(default=5, alias="TRUSTBOT_MIN_GROUP_SIZE")
    teams: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict, alias="TRUSTBOT_TEAMS")
    retention_weeks: int = Field(default=104, ge=13, le=1040, alias="TRUSTBOT_RETENTION_WEEKS")

    # Rhythm: crontab expressions in TRUSTBOT_TIMEZONE
    prompt_schedule: str = Field(default="0 9 * * MON", alias="TRUSTBOT_PROMPT_SCHEDULE")
    reminder_schedule: str = Field(default="0 13 * * WED", alias="TRUSTBOT_REMINDER_SCHEDULE")
    digest_schedule: str = Field(default="0 8 * * FRI", alias="TRUSTBOT_DIGEST_SCHEDULE")
    max_reminders: int = Field(default=1, ge=0, le=10, alias="TRUSTBOT_MAX_REMINDERS")
    misfire_grace: timedelta = Field(default=timedelta(hours=6), alias="TRUSTBOT_MISFIRE_GRACE")
    delivery_time: Literal["workspace", "local"] = Field(
        default="workspace", alias="TRUSTBOT_DELIVERY_TIME"
    )
    first_rule: int = Field(default=1, ge=1, alias="TRUSTBOT_FIRST_RULE")
    first_week: str | None = Field(default=None, alias="TRUSTBOT_FIRST_WEEK")

    # Sending
    send_rate: float = Field(default=10.0, gt=0, le=1000, alias="TRUSTBOT_SEND_RATE")
    send_burst: int = Field(default=10, ge=1, le=1000, alias="TRUSTBOT_SEND_BURST")
    send_concurrency: int = Field(default=8, ge=1, le=100, alias="TRUSTBOT_SEND_CONCURRENCY")
    delivery_max_attempts: int = Field(
        default=5, ge=1, le=50, alias="TRUSTBOT_DELIVERY_MAX_ATTEMPTS"
    )

    @field_validator("audience", "report_viewers", "leadership_channels", mode="before")
    @classmethod
    def _split_comma_lists(cls, value: Any) -> Any:
        return _split_ids(value)

    @field_validator("audience")
    @classmethod
    def _check_audience(cls, value: list[str]) -> list[str]:
        return _check_ids(
            value,
            [(_USER_ID, "U…/W… user"), (_CHANNEL_ID, "C…/G… channel"), (_USERGROUP_ID, "S… group")],
            "Slack user, channel or user-group",
        )

    @field_validator("report_viewers")
    @classmethod
    def _check_viewers(cls, value: list[str]) -> list[str]:
        return _check_ids(
            value,
            [(_USER_ID, "U…/W… user"), (_USERGROUP_ID, "S… group")],
            "Slack user or user-group",
        )

    @field_validator("leadership_channels")
    @classmethod
    def _check_channels(cls, value: list[str]) -> list[str]:
        return _check_ids(value, [(_CHANNEL_ID, "C…/G… channel")], "Slack channel")

    @field_validator("teams", mode="before")
    @classmethod
    def _parse_teams(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        teams: dict[str, str] = {}
        for entry in (part.strip() for part in value.split(",") if part.strip()):
            name, sep, slack_id = (piece.strip() for piece in entry.partition("="))
            if not sep or not _TEAM_NAME.match(name):
                raise ValueError(
                    f"{entry!r} is not NAME=ID (a name of letters, digits, space, . _ -, "
                    "then a user group S… or channel C…/G…)"
                )
            if not (_USERGROUP_ID.match(slack_id) or _CHANNEL_ID.match(slack_id)):
                raise ValueError(f"{slack_id!r} of team {name!r} is not a S… or C…/G… id")
            if name.lower() in (team.lower() for team in teams):
                raise ValueError(f"team {name!r} is named twice")
            teams[name] = slack_id
        return teams

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    @field_validator("prompt_schedule", "reminder_schedule", "digest_schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        try:
            cron_trigger(value, ZoneInfo("UTC"))
        except CronError as error:
            raise ValueError(str(error)) from None
        return value.strip()

    @field_validator("misfire_grace", mode="before")
    @classmethod
    def _parse_grace(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("first_week")
    @classmethod
    def _check_first_week(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            year, week = parse_period(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO week such as 2026-W49") from None
        return f"{year}-W{week:02d}"

    @field_validator("min_group_size")
    @classmethod
    def _check_min_group_size(cls, value: int) -> int:
        if value < 3:
            raise ValueError(f"{value} is below 3, too small to keep answers anonymous")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        scheme = value.split("://", 1)[0].split("+", 1)[0] if "://" in value else ""
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @field_validator("rules_file")
    @classmethod
    def _check_rules_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        if not value.is_file():
            raise ValueError(f"{str(value)!r} does not exist or is not a file")
        try:
            load_rules(value)
        except (RulesFileError, OSError, UnicodeDecodeError) as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("pseudonym_key", "slack_bot_token", "slack_signing_secret", "slack_app_token")
    @classmethod
    def _refuse_placeholders(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if not raw:
            return None
        if raw.lower() in _PLACEHOLDERS or raw.lower().startswith("your-"):
            raise ValueError("is a placeholder; set the real value")
        return SecretStr(raw)

    @field_validator("pseudonym_key")
    @classmethod
    def _check_key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_PSEUDONYM_KEY_LENGTH:
            raise ValueError(
                f"must be at least {MIN_PSEUDONYM_KEY_LENGTH} characters "
                "(generate one: python3 -c 'import secrets; print(secrets.token_hex(32))')"
            )
        return value

    @model_validator(mode="after")
    def _check_first_rule(self) -> Settings:
        count = len(load_rules(self.rules_file))
        if self.first_rule > count:
            raise ValueError(
                f"TRUSTBOT_FIRST_RULE: {self.first_rule} is more than the {count} rules there are"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)

    def require(self, *aliases: str) -> None:
        """Refuse to go on unless every named setting is present."""
        missing = [alias for alias in aliases if getattr(self, _FIELD_BY_ALIAS[alias]) is None]
        if missing:
            raise SettingsError([f"{alias}: is required but not set" for alias in missing])

    def effective(self) -> dict[str, str]:
        """Every setting by variable name, secrets masked, for `trustbot config check`."""
        shown: dict[str, str] = {}
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                text = "********"
            elif value is None:
                text = "(not set)"
            elif isinstance(value, list):
                text = ",".join(value) if value else "(none)"
            elif isinstance(value, dict):
                text = ",".join(f"{k}={v}" for k, v in value.items()) if value else "(none)"
            elif name == "database_url":
                text = mask_url_password(value)
            elif isinstance(value, timedelta):
                text = _describe_duration(value)
            else:
                text = str(value).lower() if isinstance(value, bool) else str(value)
            shown[field.alias or name] = text
        return shown


_FIELD_BY_ALIAS = {field.alias: name for name, field in Settings.model_fields.items()}


class SettingsError(Exception):
    """Settings that cannot be used; each line names one variable and what is wrong."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _describe_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def mask_url_password(url: str) -> str:
    """Hide the password in a database URL, in the user part or as a query parameter."""
    masked = re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1****@", url)
    return re.sub(r"([?&]password=)[^&]*", r"\1****", masked, flags=re.IGNORECASE)


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment and `.env`; raise SettingsError on bad values."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


def _describe(error: ValidationError) -> list[str]:
    lines: list[str] = []
    for problem in error.errors(include_url=False, include_input=False):
        message = str(problem["msg"]).removeprefix("Value error, ")
        if not problem["loc"]:  # a check across settings names its variables itself
            lines.append(message)
            continue
        where = str(problem["loc"][0])
        where = (
            Settings.model_fields[where].alias or where if where in Settings.model_fields else where
        )
        lines.append(f"{where}: {message}")
    return lines
