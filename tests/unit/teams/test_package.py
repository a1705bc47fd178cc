"""`trustbot teams-package`: the manifest filled in from settings, checked, zipped flat."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import make_settings
from trustbot.config import SettingsError
from trustbot.teams.package import PackageError, build_package

DEPLOY = Path(__file__).parents[3] / "deploy" / "teams"
APP_ID = "0b7c3f1e-2d4a-4e5b-8c6d-7e8f9a0b1c2d"
PACKAGING = {
    "TEAMS_CLIENT_ID": APP_ID,
    "TEAMS_APP_PUBLISHER": 'Call me "A/S"',
    "TEAMS_APP_WEBSITE_URL": "https://intranet.example.com/trustbot",
    "TEAMS_APP_PRIVACY_URL": "https://intranet.example.com/trustbot/privacy",
    "TEAMS_APP_TERMS_URL": "https://intranet.example.com/trustbot/terms",
}


def test_the_shipped_manifest_becomes_a_package_teams_accepts(tmp_path: Path) -> None:
    out = tmp_path / "trustbot-teams.zip"
    build_package(make_settings(**PACKAGING), DEPLOY, out)

    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    assert manifest["developer"]["name"] == 'Call me "A/S"'  # quotes survive as JSON
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert set(manifest["bots"][0]["scopes"]) == {"personal", "team"}
    commands = [c["title"] for lst in manifest["bots"][0]["commandLists"] for c in lst["commands"]]
    assert "trust-report" in commands
    # The limits of Microsoft's app manifest schema (v1.17) that a hand edit could break.
    assert len(manifest["name"]["short"]) <= 30
    assert len(manifest["name"]["full"]) <= 100
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["description"]["full"]) <= 4000
    for command_list in manifest["bots"][0]["commandLists"]:
        assert len(command_list["commands"]) <= 10
        for command in command_list["commands"]:
            assert len(command["title"]) <= 32
            assert len(command["description"]) <= 128
    urls = [url for key, url in manifest["developer"].items() if key != "name"]
    assert all(url.startswith("https://") for url in urls)
    assert "${{" not in json.dumps(manifest)


def test_missing_settings_are_named(tmp_path: Path) -> None:
    settings = make_settings(TEAMS_CLIENT_ID=APP_ID)
    with pytest.raises(SettingsError) as refused:
        build_package(settings, DEPLOY, tmp_path / "x.zip")
    assert refused.value.lines == [
        "TEAMS_APP_PUBLISHER: is required but not set",
        "TEAMS_APP_WEBSITE_URL: is required but not set",
        "TEAMS_APP_PRIVACY_URL: is required but not set",
        "TEAMS_APP_TERMS_URL: is required but not set",
    ]


def test_a_wrong_icon_or_placeholder_is_refused_with_the_file_named(tmp_path: Path) -> None:
    source = tmp_path / "teams"
    shutil.copytree(DEPLOY, source)
    Image.new("RGB", (96, 96)).save(source / "color.png")
    with pytest.raises(PackageError, match=r"color icon must be a 192x192 PNG, not a 96x96 PNG"):
        build_package(make_settings(**PACKAGING), source, tmp_path / "x.zip")

    shutil.copy(DEPLOY / "color.png", source / "color.png")
    manifest = source / "manifest.json"
    edited = manifest.read_text().replace("${{TEAMS_APP_PUBLISHER}}", "${{TEAMS_APP_OWNER}}")
    manifest.write_text(edited)
    with pytest.raises(PackageError, match=r"unknown placeholder \$\{\{TEAMS_APP_OWNER\}\}"):
        build_package(make_settings(**PACKAGING), source, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_settings_refuse_what_teams_would_refuse() -> None:
    with pytest.raises(SettingsError, match="TEAMS_APP_PRIVACY_URL"):
        make_settings(**{**PACKAGING, "TEAMS_APP_PRIVACY_URL": "http://intranet/privacy"})
    with pytest.raises(SettingsError, match="TEAMS_APP_PUBLISHER"):
        make_settings(**{**PACKAGING, "TEAMS_APP_PUBLISHER": "x" * 33})
