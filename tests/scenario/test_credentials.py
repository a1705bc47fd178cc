"""Credentials checked before `serve` takes work: offline by shape, online against the emulators."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import TEST_KEY, make_settings
from tests.scenario.processes import base_env, trustbot
from trustbot.config import SettingsError
from trustbot.credentials import SLACK_BOT_SCOPES, check_credentials
from trustbot.devtools.emulator import SlackEmulator
from trustbot.devtools.teams_emulator import DEFAULT_TENANT_ID, TeamsEmulator

TOKEN = "xoxb-credentials-test-0042"
APP_TOKEN = "xapp-1-A0CRED-credentials-test-77"
SECRET = "0123456789abcdef0123456789abcdef"
APP_ID = "3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
CLIENT_SECRET = "entra-client-secret-value-9~x"
MANIFEST = Path(__file__).parents[2] / "deploy" / "slack" / "manifest.yaml"


def _env(**values: str) -> dict[str, str]:
    defaults = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "TRUSTBOT_PSEUDONYM_KEY": TEST_KEY,
    }
    return base_env(**{**defaults, **values})


async def test_an_app_token_as_bot_token_is_refused_by_config_check_and_serve(
    tmp_path: Path,
) -> None:
    """The issue's 'done when': SLACK_BOT_TOKEN=xapp-1-x is refused with exit 2."""
    for command in (("config", "check"), ("serve",)):
        code, out, err = await trustbot(
            *command, env=_env(SLACK_BOT_TOKEN="xapp-1-x"), cwd=tmp_path
        )

        assert code == 2, (command, err)
        assert err.strip().splitlines() == [
            "SLACK_BOT_TOKEN: is an app-level token (xapp-), not a bot token (xoxb-, from "
            "OAuth & Permissions: Bot User OAuth Token)"
        ]
        assert "xapp-1-x" not in out + err


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("SLACK_BOT_TOKEN", "not-a-token", "SLACK_BOT_TOKEN: is not a bot token (xoxb-"),
        ("SLACK_BOT_TOKEN", "xoxp-1-2-3", "SLACK_BOT_TOKEN: is a user token (xoxp-), not a bot"),
        ("SLACK_BOT_TOKEN", "xoxb-", "SLACK_BOT_TOKEN: is cut short or holds spaces: copy"),
        ("SLACK_APP_TOKEN", TOKEN, "SLACK_APP_TOKEN: is a bot token (xoxb-), not an app-level"),
        ("SLACK_APP_TOKEN", "A0123-x", "SLACK_APP_TOKEN: is not an app-level token (xapp-"),
        ("SLACK_SIGNING_SECRET", TOKEN, "SLACK_SIGNING_SECRET: is a bot token (xoxb-), not the"),
        ("SLACK_SIGNING_SECRET", "abc123", "SLACK_SIGNING_SECRET: does not look like a signing"),
        ("SLACK_SIGNING_SECRET", "0123 4567 89ab cdef 0123", "SLACK_SIGNING_SECRET: does not"),
    ],
)
def test_a_credential_of_the_wrong_shape_is_one_line_without_its_value(
    variable: str, value: str, says: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        make_settings(**{variable: value})

    assert len(refused.value.lines) == 1
    assert refused.value.lines[0].startswith(says)
    assert value not in refused.value.lines[0].replace("(xoxb-", "").replace("(xapp-", "")


def test_well_formed_credentials_pass_offline() -> None:
    settings = make_settings(SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN=APP_TOKEN)

    assert settings.slack_bot_token is not None
    assert settings.slack_signing_secret is not None  # the tests' own, of Slack's alphabet


def test_the_scopes_checked_are_the_manifests() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())

    assert sorted(SLACK_BOT_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])


async def test_config_check_online_asks_slack_for_the_token_workspace_and_scopes(
    tmp_path: Path,
) -> None:
    async with SlackEmulator(bot_token=TOKEN, app_token=APP_TOKEN) as slack:
        env = _env(SLACK_API_URL=slack.base_url, SLACK_APP_TOKEN=APP_TOKEN)
        code, out, err = await trustbot(
            "config", "check", "--online", "--socket-mode", env=env, cwd=tmp_path
        )
        assert code == 0, err
        lines = out.strip().splitlines()
        assert lines[-3].startswith("Slack: a bot token of workspace Trust Emulated (T")
        assert lines[-3].endswith("with every scope of the manifest")
        assert lines[-2] == "Slack: the app-level token may open Socket Mode connections"
        assert lines[-1] == "configuration OK"
        assert slack.call_counts["auth.test"] == 1
        assert slack.call_counts["apps.connections.open"] == 1

        slack.scopes.remove("im:write")
        slack.scopes.remove("files:write")
        code, out, err = await trustbot("config", "check", "--online", env=env, cwd=tmp_path)
        assert code == 2
        assert err.strip().splitlines() == [
            "SLACK_BOT_TOKEN: lacks the scopes im:write, files:write of "
            "deploy/slack/manifest.yaml: add them (OAuth & Permissions) and reinstall the app"
        ]
        assert "configuration OK" not in out


async def test_serve_stops_with_one_line_when_slack_refuses_a_credential(tmp_path: Path) -> None:
    async with SlackEmulator(bot_token=TOKEN, app_token=APP_TOKEN) as slack:
        revoked = _env(SLACK_API_URL=slack.base_url, SLACK_BOT_TOKEN="xoxb-revoked-0")
        code, out, err = await trustbot("serve", env=revoked, cwd=tmp_path)
        assert code == 2
        assert err.strip().splitlines() == ["SLACK_BOT_TOKEN: Slack refused it (invalid_auth)"]
        assert "xoxb-revoked-0" not in out + err

        wrong_app = _env(SLACK_API_URL=slack.base_url, SLACK_APP_TOKEN="xapp-1-A0-revoked")
        code, out, err = await trustbot("serve", "--socket-mode", env=wrong_app, cwd=tmp_path)
        assert code == 2
        assert err.strip().splitlines() == [
            "SLACK_APP_TOKEN: Slack refused it for Socket Mode (invalid_auth): use an app-level "
            "token with connections:write, and turn Socket Mode on in the app's settings"
        ]
        assert "xapp-1-A0-revoked" not in out + err
        # Nothing was served: the check came before any database or listener.
        assert not (tmp_path / "trustbot.db").exists()


async def test_a_user_token_passes_the_prefix_but_not_auth_test(tmp_path: Path) -> None:
    """auth.test names no bot for a token that is not a bot's, whatever its prefix says."""
    async with SlackEmulator(bot_token=TOKEN) as slack:
        real_auth_test = slack.web_api.handlers["auth.test"]
        slack.web_api.handlers["auth.test"] = lambda args: {
            k: v for k, v in real_auth_test(args).items() if k != "bot_id"
        }
        report = await check_credentials(
            make_settings(SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=slack.base_url)
        )

    assert report.problems == [
        "SLACK_BOT_TOKEN: Slack says it is not a bot token (auth.test names no bot): use the Bot "
        "User OAuth Token (xoxb-) of OAuth & Permissions"
    ]


async def test_teams_credentials_are_checked_by_fetching_a_token(tmp_path: Path) -> None:
    async with TeamsEmulator(app_id=APP_ID, client_secret=CLIENT_SECRET) as teams:
        env = base_env(
            TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
            TEAMS_CLIENT_ID=APP_ID,
            TEAMS_CLIENT_SECRET=CLIENT_SECRET,
            TEAMS_TENANT_ID=DEFAULT_TENANT_ID,
            TEAMS_LOGIN_URL=teams.login_url,
        )
        code, out, err = await trustbot("config", "check", "--online", env=env, cwd=tmp_path)
        assert code == 0, err
        assert out.strip().splitlines()[-2:] == [
            "Teams: Microsoft Entra gave the bot a token",
            "configuration OK",
        ]

        cases = {
            "TEAMS_CLIENT_SECRET": ("another-secret-value", "invalid_client, AADSTS7000215"),
            "TEAMS_CLIENT_ID": ("9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a", "AADSTS700016"),
            "TEAMS_TENANT_ID": ("00000000-1111-4222-8333-444444444444", "AADSTS90002"),
        }
        for variable, (wrong, code_said) in cases.items():
            code, out, err = await trustbot("serve", env={**env, variable: wrong}, cwd=tmp_path)
            assert code == 2, variable
            (line,) = err.strip().splitlines()
            assert line.startswith(f"{variable}: Microsoft Entra refused the bot's credentials (")
            assert code_said in line
            assert CLIENT_SECRET not in out + err
            assert wrong not in line
        token_calls = [call for call in teams.calls if call.path.endswith("/oauth2/v2.0/token")]
        assert len(token_calls) == 4
