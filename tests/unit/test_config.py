"""Settings: validation with one clear line per bad variable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from trustbot.config import (
    DEFAULT_DATABASE_URL,
    DEFAULT_SLACK_API_URL,
    Settings,
    SettingsError,
    load_settings,
    mask_url_password,
)

GOOD_KEY = "0123456789abcdef0123456789abcdef"  # exactly 32 characters


def settings(**values: Any) -> Settings:
    return load_settings(_env_file=None, **values)


def errors(**values: Any) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        settings(**values)
    assert str(caught.value) == "\n".join(caught.value.lines)
    return caught.value.lines


def test_defaults() -> None:
    loaded = settings()
    assert loaded.timezone == "Europe/Copenhagen"
    assert str(loaded.zone) == "Europe/Copenhagen"
    assert loaded.language == "da"
    assert loaded.min_group_size == 5
    assert loaded.audience == []
    assert loaded.report_viewers == []
    assert loaded.leadership_channels == []
    assert loaded.slack_api_url == DEFAULT_SLACK_API_URL
    assert loaded.database_url == DEFAULT_DATABASE_URL
    assert loaded.port == 3000
    assert loaded.auto_migrate is False
    assert loaded.pseudonym_key is None
    assert loaded.rules_file is None


def test_bad_timezone_line() -> None:
    assert errors(TRUSTBOT_TIMEZONE="Mars/Base") == [
        "TRUSTBOT_TIMEZONE: 'Mars/Base' is not an IANA time zone"
    ]


def test_bad_timezone_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTBOT_TIMEZONE", "Mars/Base")
    assert errors() == ["TRUSTBOT_TIMEZONE: 'Mars/Base' is not an IANA time zone"]


def test_other_timezone() -> None:
    assert settings(TRUSTBOT_TIMEZONE="America/New_York").zone.key == "America/New_York"


def test_min_group_size() -> None:
    lines = errors(TRUSTBOT_MIN_GROUP_SIZE="2")
    assert len(lines) == 1
    assert lines[0].startswith("TRUSTBOT_MIN_GROUP_SIZE: 2 is below 3")
    assert settings(TRUSTBOT_MIN_GROUP_SIZE="3").min_group_size == 3
    assert settings().min_group_size == 5


def test_min_group_size_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTBOT_MIN_GROUP_SIZE", "7")
    assert settings().min_group_size == 7
    monkeypatch.setenv("TRUSTBOT_MIN_GROUP_SIZE", "0")
    assert errors()[0].startswith("TRUSTBOT_MIN_GROUP_SIZE: ")


def test_audience_list() -> None:
    assert settings(TRUSTBOT_AUDIENCE="U1AB, C2CD,S3EF").audience == ["U1AB", "C2CD", "S3EF"]
    assert settings(TRUSTBOT_AUDIENCE="W1AB,G2CD,,").audience == ["W1AB", "G2CD"]


def test_audience_list_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTBOT_AUDIENCE", "U1AB, C2CD,S3EF")
    assert settings().audience == ["U1AB", "C2CD", "S3EF"]


def test_audience_refuses_unknown_ids() -> None:
    lines = errors(TRUSTBOT_AUDIENCE="U1AB,X123")
    assert len(lines) == 1
    assert lines[0].startswith(
        "TRUSTBOT_AUDIENCE: 'X123' is not a Slack user, channel or user-group"
    )


@pytest.mark.parametrize("value", ["u1ab", "U1", "@alice", "#general"])
def test_audience_refuses_malformed(value: str) -> None:
    assert errors(TRUSTBOT_AUDIENCE=value)[0].startswith("TRUSTBOT_AUDIENCE: ")


def test_report_viewers() -> None:
    assert settings(TRUSTBOT_REPORT_VIEWERS="U1AB,S2CD").report_viewers == ["U1AB", "S2CD"]
    lines = errors(TRUSTBOT_REPORT_VIEWERS="U1AB,C2CD")
    assert len(lines) == 1
    assert lines[0].startswith("TRUSTBOT_REPORT_VIEWERS: 'C2CD' is not a Slack user or user-group")


def test_leadership_channels() -> None:
    assert settings(TRUSTBOT_LEADERSHIP_CHANNELS="C1AB, G2CD").leadership_channels == [
        "C1AB",
        "G2CD",
    ]
    lines = errors(TRUSTBOT_LEADERSHIP_CHANNELS="C1AB,U2CD")
    assert lines[0].startswith("TRUSTBOT_LEADERSHIP_CHANNELS: 'U2CD' is not a Slack channel id")


def test_language() -> None:
    assert settings(TRUSTBOT_LANGUAGE="en").language == "en"
    lines = errors(TRUSTBOT_LANGUAGE="fr")
    assert len(lines) == 1
    assert lines[0].startswith("TRUSTBOT_LANGUAGE: ")
    assert "'da'" in lines[0]
    assert "'en'" in lines[0]


def test_port() -> None:
    assert settings(TRUSTBOT_PORT="8080").port == 8080
    lines = errors(TRUSTBOT_PORT="abc")
    assert len(lines) == 1
    assert lines[0].startswith("TRUSTBOT_PORT: ")
    assert "integer" in lines[0]
    assert errors(TRUSTBOT_PORT="70000")[0].startswith("TRUSTBOT_PORT: ")
    assert errors(TRUSTBOT_PORT="0")[0].startswith("TRUSTBOT_PORT: ")


def test_slack_api_url() -> None:
    assert settings(SLACK_API_URL="http://127.0.0.1:9000/api").slack_api_url == (
        "http://127.0.0.1:9000/api/"
    )
    assert settings(SLACK_API_URL="https://x.example/api/").slack_api_url == (
        "https://x.example/api/"
    )
    assert errors(SLACK_API_URL="ftp://x") == ["SLACK_API_URL: 'ftp://x' is not an http(s) URL"]
    assert errors(SLACK_API_URL="https://")[0].startswith("SLACK_API_URL: ")


def test_database_url() -> None:
    assert settings(TRUSTBOT_DATABASE_URL="sqlite:///x.db").database_url == "sqlite:///x.db"
    assert settings(TRUSTBOT_DATABASE_URL="postgresql://u@h/db").database_url == (
        "postgresql://u@h/db"
    )
    assert settings(TRUSTBOT_DATABASE_URL="postgres://u@h/db").database_url == "postgres://u@h/db"
    assert errors(TRUSTBOT_DATABASE_URL="mysql://x") == [
        "TRUSTBOT_DATABASE_URL: must start with sqlite:/// or postgresql://"
    ]
    assert errors(TRUSTBOT_DATABASE_URL="trustbot.db")[0].startswith("TRUSTBOT_DATABASE_URL: ")
    assert settings(TRUSTBOT_DATABASE_URL="sqlite://").database_url == "sqlite://"  # in memory
    assert settings(TRUSTBOT_DATABASE_URL="sqlite:////var/x.db").database_url == (
        "sqlite:////var/x.db"
    )
    assert errors(TRUSTBOT_DATABASE_URL="sqlite://trustbot.db") == [
        "TRUSTBOT_DATABASE_URL: a SQLite URL takes three slashes before a relative path: "
        "sqlite:///trustbot.db (four for an absolute one: sqlite:////var/lib/trustbot/trustbot.db)"
    ]


def test_log_level_in_any_case() -> None:
    assert settings(TRUSTBOT_LOG_LEVEL="DEBUG").log_level == "debug"
    assert settings(TRUSTBOT_LOG_LEVEL=" Warning ").log_level == "warning"
    assert errors(TRUSTBOT_LOG_LEVEL="loud")[0].startswith("TRUSTBOT_LOG_LEVEL: ")


@pytest.mark.parametrize("schedule", ["0 9 31 2 *", "0 9 30 2 *", "0 9 31 4,6 *", "0 9 31 11 *"])
def test_a_schedule_that_never_fires_is_refused(schedule: str) -> None:
    assert errors(TRUSTBOT_PROMPT_SCHEDULE=schedule) == [
        f"TRUSTBOT_PROMPT_SCHEDULE: {schedule!r} never fires (no such day in that month): "
        "check the day and month"
    ]


@pytest.mark.parametrize("schedule", ["0 8 31 12 *", "0 0 29 2 *", "0 9 31 * *"])
def test_a_schedule_that_fires_even_rarely_is_taken(schedule: str) -> None:
    assert settings(TRUSTBOT_DIGEST_SCHEDULE=schedule).digest_schedule == schedule


def test_pseudonym_key() -> None:
    loaded = settings(TRUSTBOT_PSEUDONYM_KEY=GOOD_KEY)
    assert loaded.pseudonym_key is not None
    assert loaded.pseudonym_key.get_secret_value() == GOOD_KEY
    short = errors(TRUSTBOT_PSEUDONYM_KEY=GOOD_KEY[:-1])
    assert len(short) == 1
    assert short[0].startswith("TRUSTBOT_PSEUDONYM_KEY: must be at least 32 characters")
    assert errors(TRUSTBOT_PSEUDONYM_KEY="changeme") == [
        "TRUSTBOT_PSEUDONYM_KEY: is a placeholder; set the real value"
    ]
    assert errors(TRUSTBOT_PSEUDONYM_KEY="your-" + "k" * 40) == [
        "TRUSTBOT_PSEUDONYM_KEY: is a placeholder; set the real value"
    ]


def test_placeholder_tokens_refused() -> None:
    assert errors(SLACK_BOT_TOKEN="CHANGEME") == [
        "SLACK_BOT_TOKEN: is a placeholder; set the real value"
    ]


def test_several_problems_give_several_lines() -> None:
    lines = errors(TRUSTBOT_TIMEZONE="Mars/Base", TRUSTBOT_LANGUAGE="fr", TRUSTBOT_PORT="abc")
    assert sorted(line.split(":", 1)[0] for line in lines) == [
        "TRUSTBOT_LANGUAGE",
        "TRUSTBOT_PORT",
        "TRUSTBOT_TIMEZONE",
    ]


def test_rules_file(tmp_path: Path) -> None:
    good = tmp_path / "rules.yaml"
    good.write_text("rules:\n  - da: Én\n    en: One\n", encoding="utf-8")
    assert settings(TRUSTBOT_RULES_FILE=str(good)).rules_file == good

    missing = tmp_path / "nope.toml"
    assert errors(TRUSTBOT_RULES_FILE=str(missing)) == [
        f"TRUSTBOT_RULES_FILE: {str(missing)!r} does not exist or is not a file"
    ]
    assert errors(TRUSTBOT_RULES_FILE=str(tmp_path))[0].endswith("does not exist or is not a file")

    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nda = "Kun dansk"\n', encoding="utf-8")
    assert errors(TRUSTBOT_RULES_FILE=str(bad)) == [
        "TRUSTBOT_RULES_FILE: bad.toml: rule 1 has no `en` text"
    ]

    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert errors(TRUSTBOT_RULES_FILE=str(binary))[0].startswith("TRUSTBOT_RULES_FILE: ")


def test_effective_masks_secrets() -> None:
    secret_key = "s3cr3t-" + "k" * 40
    loaded = settings(
        TRUSTBOT_PSEUDONYM_KEY=secret_key,
        SLACK_BOT_TOKEN="xoxb-very-secret-token",
        SLACK_SIGNING_SECRET="signing-secret-value",
        TRUSTBOT_DATABASE_URL="postgresql://trust:hunter2pass@db.internal:5432/trustbot",
        TRUSTBOT_AUDIENCE="U1AB,C2CD",
    )
    shown = loaded.effective()
    everything = "\n".join(f"{name}={value}" for name, value in shown.items())
    for secret in (secret_key, "xoxb-very-secret-token", "signing-secret-value", "hunter2pass"):
        assert secret not in everything
    assert shown["TRUSTBOT_PSEUDONYM_KEY"] == "********"
    assert shown["SLACK_BOT_TOKEN"] == "********"
    assert shown["SLACK_APP_TOKEN"] == "(not set)"
    assert shown["TRUSTBOT_DATABASE_URL"] == "postgresql://trust:****@db.internal:5432/trustbot"
    assert shown["TRUSTBOT_AUDIENCE"] == "U1AB,C2CD"
    assert shown["TRUSTBOT_REPORT_VIEWERS"] == "(none)"
    assert shown["TRUSTBOT_AUTO_MIGRATE"] == "false"
    assert shown["TRUSTBOT_MIN_GROUP_SIZE"] == "5"
    assert set(shown) == {field.alias for field in Settings.model_fields.values()}


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:p@h/db", "postgresql://u:****@h/db"),
        ("postgresql+psycopg://u:p%40ss@h:5432/db", "postgresql+psycopg://u:****@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:///trustbot.db", "sqlite:///trustbot.db"),
    ],
    ids=["password", "encoded-password", "no-password", "file"],
)
def test_mask_url_password(url: str, masked: str) -> None:
    assert mask_url_password(url) == masked


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://trust@db.internal/trustbot?password=hunter2pass",
        "postgresql://:hunter2pass@db/x",
    ],
    ids=["query-password", "empty-user"],
)
def test_effective_masks_other_password_forms(url: str) -> None:
    shown = settings(TRUSTBOT_DATABASE_URL=url).effective()
    assert "hunter2pass" not in shown["TRUSTBOT_DATABASE_URL"]


def test_environment_wins_over_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "TRUSTBOT_LANGUAGE=en\nTRUSTBOT_MIN_GROUP_SIZE=4\nTRUSTBOT_TIMEZONE=UTC\n",
        encoding="utf-8",
    )
    from_file = load_settings(_env_file=env_file)
    assert (from_file.language, from_file.min_group_size, from_file.timezone) == ("en", 4, "UTC")
    monkeypatch.setenv("TRUSTBOT_LANGUAGE", "da")
    monkeypatch.setenv("TRUSTBOT_MIN_GROUP_SIZE", "6")
    both = load_settings(_env_file=env_file)
    assert (both.language, both.min_group_size, both.timezone) == ("da", 6, "UTC")


def test_empty_environment_value_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTBOT_TIMEZONE", "")
    assert settings().timezone == "Europe/Copenhagen"


def test_require() -> None:
    loaded = settings()
    with pytest.raises(SettingsError) as caught:
        loaded.require("TRUSTBOT_PSEUDONYM_KEY", "SLACK_BOT_TOKEN")
    assert caught.value.lines == [
        "TRUSTBOT_PSEUDONYM_KEY: is required but not set",
        "SLACK_BOT_TOKEN: is required but not set",
    ]
    settings(TRUSTBOT_PSEUDONYM_KEY=GOOD_KEY).require("TRUSTBOT_PSEUDONYM_KEY")


def test_leader_retry() -> None:
    assert settings().leader_retry == timedelta(seconds=15)
    assert settings(TRUSTBOT_LEADER_RETRY="2s").leader_retry == timedelta(seconds=2)
    assert errors(TRUSTBOT_LEADER_RETRY="5m") == [
        "TRUSTBOT_LEADER_RETRY: must be from 1s to 60s "
        "(a standby takes over within this after the leader dies)"
    ]
    assert errors(TRUSTBOT_LEADER_RETRY="soon")[0].startswith("TRUSTBOT_LEADER_RETRY: ")
