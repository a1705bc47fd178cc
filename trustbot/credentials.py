"""Credentials checked against Slack and Microsoft Entra before `serve` takes any work.

The offline checks (each token's prefix, the signing secret's shape) are Settings' validators
(config.py). These ask the platforms: Slack's `auth.test` says what kind of token the bot token
is, which workspace it belongs to and which scopes it was granted (the `x-oauth-scopes` response
header); `apps.connections.open` says whether the app-level token may open Socket Mode
connections; Microsoft Entra gives the Teams bot a token only for a right client id, secret and
tenant. Each problem is one line naming the variable, never its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.config import Settings

# The bot scopes of deploy/slack/manifest.yaml (a test holds the two together).
SLACK_BOT_SCOPES = (
    "chat:write",
    "im:write",
    "commands",
    "reactions:read",
    "users:read",
    "files:write",
    "usergroups:read",
    "channels:read",
    "groups:read",
)
# What the Teams bot asks Microsoft Entra for: a token to call Bot Framework's connector.
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
CHECK_TIMEOUT_S = 15.0
# Entra's error codes (AADSTS…) that say which of the three settings is wrong.
_ENTRA_CULPRITS = {
    "AADSTS700016": "TEAMS_CLIENT_ID",  # application not found in the directory
    "AADSTS7000215": "TEAMS_CLIENT_SECRET",  # invalid client secret
    "AADSTS7000222": "TEAMS_CLIENT_SECRET",  # the client secret has expired
    "AADSTS90002": "TEAMS_TENANT_ID",  # tenant not found
    "AADSTS900023": "TEAMS_TENANT_ID",  # not a valid tenant identifier
}
_AADSTS = re.compile(r"\bAADSTS\d+\b")


@dataclass(slots=True)
class CredentialReport:
    """What the platforms said: a line per credential that works, and one per problem."""

    confirmed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every credential was accepted."""
        return not self.problems


async def check_credentials(settings: Settings, *, socket_mode: bool = False) -> CredentialReport:
    """Ask Slack and Microsoft Entra whether the configured credentials work."""
    report = CredentialReport()
    if settings.slack_bot_token is not None:
        await _check_slack_bot(settings, report)
        if socket_mode and settings.slack_app_token is not None:
            await _check_slack_app(settings, report)
    if settings.teams_enabled and not settings.teams_local:
        await _check_teams(settings, report)
    return report


async def _check_slack_bot(settings: Settings, report: CredentialReport) -> None:
    assert settings.slack_bot_token is not None
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=int(CHECK_TIMEOUT_S),
    )
    try:
        response = await client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "unknown_error")
        report.problems.append(f"SLACK_BOT_TOKEN: Slack refused it ({code})")
        return
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        report.problems.append(_unreachable("SLACK_API_URL", settings.slack_api_url, error))
        return
    if not response.get("bot_id"):
        report.problems.append(
            "SLACK_BOT_TOKEN: Slack says it is not a bot token (auth.test names no bot): use "
            "the Bot User OAuth Token (xoxb-) of OAuth & Permissions"
        )
        return
    header = _header(response.headers, "x-oauth-scopes")
    workspace = f"{response.get('team', '?')} ({response.get('team_id', '?')})"
    if header is None:
        report.confirmed.append(
            f"Slack: a bot token of workspace {workspace}; Slack did not say its scopes"
        )
        return
    granted = {scope.strip() for scope in header.split(",") if scope.strip()}
    missing = [scope for scope in SLACK_BOT_SCOPES if scope not in granted]
    if missing:
        report.problems.append(
            f"SLACK_BOT_TOKEN: lacks the scopes {', '.join(missing)} of "
            "deploy/slack/manifest.yaml: add them (OAuth & Permissions) and reinstall the app"
        )
        return
    report.confirmed.append(
        f"Slack: a bot token of workspace {workspace}, with every scope of the manifest"
    )


async def _check_slack_app(settings: Settings, report: CredentialReport) -> None:
    assert settings.slack_app_token is not None
    client = AsyncWebClient(base_url=settings.slack_api_url, timeout=int(CHECK_TIMEOUT_S))
    try:
        # It hands out a one-time WebSocket URL, left unused: the only way to ask Slack
        # whether this token may open Socket Mode connections (connections:write).
        await client.apps_connections_open(app_token=settings.slack_app_token.get_secret_value())
    except SlackApiError as error:
        code = error.response.get("error", "unknown_error")
        report.problems.append(
            f"SLACK_APP_TOKEN: Slack refused it for Socket Mode ({code}): use an app-level "
            "token with connections:write, and turn Socket Mode on in the app's settings"
        )
        return
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        report.problems.append(_unreachable("SLACK_API_URL", settings.slack_api_url, error))
        return
    report.confirmed.append("Slack: the app-level token may open Socket Mode connections")


async def _check_teams(settings: Settings, report: CredentialReport) -> None:
    assert settings.teams_client_id is not None
    assert settings.teams_client_secret is not None
    url = f"{settings.teams_login_url.rstrip('/')}/{settings.teams_tenant_id}/oauth2/v2.0/token"
    form = {
        "grant_type": "client_credentials",
        "client_id": settings.teams_client_id,
        "client_secret": settings.teams_client_secret.get_secret_value(),
        "scope": BOT_FRAMEWORK_SCOPE,
    }
    try:
        async with httpx.AsyncClient(timeout=CHECK_TIMEOUT_S) as http:
            response = await http.post(url, data=form)
    except httpx.HTTPError as error:
        report.problems.append(_unreachable("TEAMS_LOGIN_URL", settings.teams_login_url, error))
        return
    body = _json(response)
    if response.status_code == 200 and body.get("access_token"):
        report.confirmed.append("Teams: Microsoft Entra gave the bot a token")
        return
    refusal = str(body.get("error") or f"http_{response.status_code}")[:64]
    codes = _AADSTS.findall(str(body.get("error_description") or ""))
    culprit = next((_ENTRA_CULPRITS[code] for code in codes if code in _ENTRA_CULPRITS), None)
    names = culprit or "TEAMS_CLIENT_ID, TEAMS_CLIENT_SECRET or TEAMS_TENANT_ID"
    detail = f"{refusal}, {codes[0]}" if codes else refusal
    report.problems.append(f"{names}: Microsoft Entra refused the bot's credentials ({detail})")


def _header(headers: object, name: str) -> str | None:
    """A response header by name, whatever the case the server wrote it in (aiohttp gives a
    case-insensitive multidict, other transports a plain dict)."""
    if not isinstance(headers, Mapping):
        return None
    for key, value in headers.items():
        if str(key).lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _unreachable(variable: str, url: str, error: BaseException) -> str:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"{variable}: cannot reach {url}: {reason}"
