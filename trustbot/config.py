"""Settings: read once from the environment and `.env`, validated before anything starts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from trustbot.core.periods import parse_period
from trustbot.core.rules import RulesFileError, load_rules
from trustbot.scheduler.cron import CronError, check_fires, cron_trigger, parse_duration

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///trustbot.db"
DEFAULT_TEAMS_SERVICE_URL = "https://smba.trafficmanager.net/teams/"
DEFAULT_TEAMS_OPENID_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
DEFAULT_TEAMS_LOGIN_URL = "https://login.microsoftonline.com"
# What Microsoft's Teams SDK would read from the environment behind trustbot's back.
SDK_GENERIC_VARIABLES = ("CLIENT_ID", "CLIENT_SECRET", "TENANT_ID", "MANAGED_IDENTITY_CLIENT_ID")
_AAD_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
MIN_PSEUDONYM_KEY_LENGTH = 32
MIN_METRICS_TOKEN_LENGTH = 24
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

    # Microsoft Teams (all optional: Teams runs when TEAMS_CLIENT_ID is set, or in local mode)
    teams_client_id: str | None = Field(default=None, alias="TEAMS_CLIENT_ID")
    teams_client_secret: SecretStr | None = Field(default=None, alias="TEAMS_CLIENT_SECRET")
    teams_tenant_id: str | None = Field(default=None, alias="TEAMS_TENANT_ID")
    teams_local: bool = Field(default=False, alias="TRUSTBOT_TEAMS_LOCAL")
    teams_audience: CommaList = Field(default_factory=list, alias="TRUSTBOT_TEAMS_AUDIENCE")
    teams_report_viewers: CommaList = Field(
        default_factory=list, alias="TRUSTBOT_TEAMS_REPORT_VIEWERS"
    )
    teams_leadership_conversations: CommaList = Field(
        default_factory=list, alias="TRUSTBOT_TEAMS_LEADERSHIP_CONVERSATIONS"
    )
    teams_service_url: str = Field(default=DEFAULT_TEAMS_SERVICE_URL, alias="TEAMS_SERVICE_URL")
    teams_openid_url: str = Field(default=DEFAULT_TEAMS_OPENID_URL, alias="TEAMS_OPENID_URL")
    # Microsoft Entra, where the bot gets its outbound tokens (a test points it at the emulator).
    teams_login_url: str = Field(default=DEFAULT_TEAMS_LOGIN_URL, alias="TEAMS_LOGIN_URL")
    # Only for `trustbot teams-package`: who publishes the app inside the company.
    teams_app_publisher: str | None = Field(default=None, alias="TEAMS_APP_PUBLISHER")
    teams_app_website_url: str | None = Field(default=None, alias="TEAMS_APP_WEBSITE_URL")
    teams_app_privacy_url: str | None = Field(default=None, alias="TEAMS_APP_PRIVACY_URL")
    teams_app_terms_url: str | None = Field(default=None, alias="TEAMS_APP_TERMS_URL")

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
    # json or text; unset: JSON unless stderr (where the logs go) is a terminal.
    log_format: Literal["json", "text"] | None = Field(default=None, alias="TRUSTBOT_LOG_FORMAT")
    # GET /metrics: on its own port (open to whoever reaches it), or on TRUSTBOT_PORT to a
    # bearer of the token; neither set, it is not served.
    metrics_port: int | None = Field(default=None, ge=1, le=65535, alias="TRUSTBOT_METRICS_PORT")
    metrics_token: SecretStr | None = Field(default=None, alias="TRUSTBOT_METRICS_TOKEN")

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
    leader_retry: timedelta = Field(default=timedelta(seconds=15), alias="TRUSTBOT_LEADER_RETRY")
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

    @field_validator(
        "audience",
        "report_viewers",
        "leadership_channels",
        "teams_audience",
        "teams_report_viewers",
        "teams_leadership_conversations",
        mode="before",
    )
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

    @field_validator("teams_audience", "teams_report_viewers")
    @classmethod
    def _check_aad_ids(cls, value: list[str]) -> list[str]:
        for aad_id in value:
            if not _AAD_ID.match(aad_id):
                raise ValueError(f"{aad_id!r} is not a Microsoft Entra object id (a GUID)")
        return [aad_id.lower() for aad_id in value]

    @field_validator("teams_client_id", "teams_tenant_id")
    @classmethod
    def _check_guid(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not _AAD_ID.match(value.strip()):
            raise ValueError(f"{value!r} is not a GUID (Azure shows it on the bot's page)")
        return value.strip()

    @field_validator("teams_service_url", "teams_openid_url", "teams_login_url")
    @classmethod
    def _check_https_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("teams_app_publisher")
    @classmethod
    def _check_publisher(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if len(value.strip()) > 32:
            raise ValueError("at most 32 characters (Teams shows it as the app's publisher)")
        return value.strip()

    @field_validator("teams_app_website_url", "teams_app_privacy_url", "teams_app_terms_url")
    @classmethod
    def _check_public_https_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme != "https" or not parts.netloc:
            raise ValueError(f"{value!r} is not an https URL (Teams accepts no other)")
        return value.strip()

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
            check_fires(cron_trigger(value, ZoneInfo("UTC")), value)
        except CronError as error:
            raise ValueError(str(error)) from None
        return value.strip()

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_log_level(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("misfire_grace", "leader_retry", mode="before")
    @classmethod
    def _parse_grace(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("leader_retry")
    @classmethod
    def _check_leader_retry(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(minutes=1):
            raise ValueError(
                "must be from 1s to 60s (a standby takes over within this after the leader dies)"
            )
        return value

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
        path = value.split("://", 1)[1]
        if scheme == "sqlite" and path and not path.startswith("/"):
            raise ValueError(
                f"a SQLite URL takes three slashes before a relative path: sqlite:///{path} "
                f"(four for an absolute one: sqlite:////var/lib/trustbot/{path})"
            )
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

    @field_validator(
        "pseudonym_key",
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "teams_client_secret",
        "metrics_token",
    )
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

    @field_validator("metrics_token")
    @classmethod
    def _check_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_METRICS_TOKEN_LENGTH:
            raise ValueError(
                f"must be at least {MIN_METRICS_TOKEN_LENGTH} characters "
                "(generate one: python3 -c 'import secrets; print(secrets.token_hex(24))')"
            )
        return value

    @model_validator(mode="after")
    def _check_metrics_port(self) -> Settings:
        if self.metrics_port is not None and self.metrics_port == self.port:
            raise ValueError(
                f"TRUSTBOT_METRICS_PORT: {self.metrics_port} is TRUSTBOT_PORT, the public port; "
                "/metrics needs a port of its own (or TRUSTBOT_METRICS_TOKEN on the public one)"
            )
        return self

    @field_validator("slack_bot_token")
    @classmethod
    def _check_bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _check_token_kind(value, "xoxb-")

    @field_validator("slack_app_token")
    @classmethod
    def _check_app_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _check_token_kind(value, "xapp-")

    @field_validator("slack_signing_secret")
    @classmethod
    def _check_signing_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        kind = _token_kind(raw)
        if kind is not None:
            raise ValueError(
                f"is {kind}, not the signing secret (Basic Information, App Credentials: "
                "Signing Secret, 32 hexadecimal characters)"
            )
        if not _SIGNING_SECRET.match(raw):
            raise ValueError(
                "does not look like a signing secret (Slack's is 32 hexadecimal characters: "
                "Basic Information, App Credentials, Signing Secret)"
            )
        return value

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
    def _check_teams_local(self) -> Settings:
        if not self.teams_local:
            return self
        if self.host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(
                "TRUSTBOT_TEAMS_LOCAL: accepts unauthenticated Teams requests, so it needs "
                f"TRUSTBOT_HOST to be a loopback address, not {self.host!r}"
            )
        if self.teams_client_secret is not None:
            raise ValueError(
                "TRUSTBOT_TEAMS_LOCAL: refuses to run with TEAMS_CLIENT_SECRET set (an "
                "unauthenticated caller could make the bot send its real token anywhere)"
            )
        return self

    @property
    def slack_enabled(self) -> bool:
        """Whether this installation talks to Slack (a bot token is set)."""
        return self.slack_bot_token is not None

    @property
    def teams_enabled(self) -> bool:
        """Whether this installation talks to Teams (an app id, or local mode)."""
        return self.teams_client_id is not None or self.teams_local

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

    def serve_needs(self, *, socket_mode: bool = False) -> list[str]:
        """The settings `serve` cannot run without, given which platforms are configured."""
        slack = self.slack_enabled or not self.teams_enabled  # neither: Slack is the default
        needs = ["SLACK_BOT_TOKEN"] if slack else []
        needs.append("TRUSTBOT_PSEUDONYM_KEY")
        if slack:
            needs.append("SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET")
        if self.teams_enabled and not self.teams_local:
            needs += ["TEAMS_CLIENT_SECRET", "TEAMS_TENANT_ID"]
        return needs

    def generic_sdk_variables(self, environ: Mapping[str, str]) -> list[str]:
        """Lines for generic variables Microsoft's SDK would use behind trustbot's back."""
        if not self.teams_enabled:
            return []
        return [
            f"{name}: is set in the environment; trustbot reads TEAMS_* settings only, and "
            "Microsoft's Teams SDK would use this one instead: unset it"
            for name in SDK_GENERIC_VARIABLES
            if environ.get(name)
        ]

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


# Slack's token kinds by prefix (https://docs.slack.dev/authentication/tokens).
SLACK_TOKEN_KINDS = {
    "xoxb-": "a bot token (xoxb-)",
    "xapp-": "an app-level token (xapp-)",
    "xoxp-": "a user token (xoxp-)",
    "xoxe.": "a refresh token (xoxe.)",
    "xoxe-": "a configuration token (xoxe-)",
    "xoxa-": "a workspace app token (xoxa-)",
    "xoxs-": "a session token (xoxs-)",
}
# The kinds trustbot uses, and where an app's settings show them.
_TOKEN_HOME = {
    "xoxb-": "a bot token (xoxb-, from OAuth & Permissions: Bot User OAuth Token)",
    "xapp-": "an app-level token (xapp-, from Basic Information: App-Level Tokens)",
}
# Slack's signing secrets are 32 hexadecimal characters; anything of 16 or more letters, digits,
# _ and - passes, so that a test or a proxy's own secret is not refused for its alphabet.
_SIGNING_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def _token_kind(raw: str) -> str | None:
    """What kind of Slack token `raw` is by its prefix, or None."""
    return next(
        (kind for prefix, kind in SLACK_TOKEN_KINDS.items() if raw.startswith(prefix)), None
    )


def _check_token_kind(value: SecretStr | None, prefix: str) -> SecretStr | None:
    """Refuse a token of another kind than `prefix`, naming what it is (never its value)."""
    if value is None:
        return None
    raw = value.get_secret_value()
    if raw.startswith(prefix):
        if len(raw) > len(prefix) and not re.search(r"\s", raw):
            return value
        raise ValueError(f"is cut short or holds spaces: copy the whole of {_TOKEN_HOME[prefix]}")
    kind = _token_kind(raw)
    if kind is None:
        raise ValueError(f"is not {_TOKEN_HOME[prefix]}")
    raise ValueError(f"is {kind}, not {_TOKEN_HOME[prefix]}")


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
