"""deploy/compose.yaml against the Compose Specification's JSON schema (vendored beside this file
from compose-spec/compose-spec, schema/compose-spec.json, Apache-2.0: compose-spec.LICENSE), and
what the schema cannot see: the commands exist, trustbot waits for its migration, no secret is
written in the file, and nothing says prompts need cron (`serve` keeps the rhythm itself).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.test_kubernetes import cli_command

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
SCHEMA = Path(__file__).with_name("compose-spec.json")


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def validate(document: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
    if errors:
        raise jsonschema.ValidationError(
            "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
        )


def test_compose_file_follows_the_compose_specification() -> None:
    validate(compose())


def test_the_schema_catches_a_broken_file() -> None:
    broken = compose()
    broken["services"]["trustbot"]["depends_on"]["migrate"]["condition"] = "service_done"
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)
    broken = compose()
    broken["services"]["trustbot"]["restartt"] = "always"
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


def test_compose_names_its_project_and_runs_trustbot_after_its_migration() -> None:
    document = compose()
    assert document["name"] == "trustbot"
    services = document["services"]
    assert cli_command(services["migrate"]["command"]) == ("migrate", [])
    assert cli_command(services["trustbot"]["command"]) == ("serve", [])
    assert services["trustbot"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    for name in ("migrate", "trustbot"):
        service = services[name]
        assert service["user"] == "10001:10001"  # the image's numeric user
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        # Secrets come from .env; the only one written here is substituted from it.
        url = service["environment"]["TRUSTBOT_DATABASE_URL"]
        assert ":${POSTGRES_PASSWORD:?" in url
        assert service["env_file"] == "../.env"


def test_compose_does_not_say_prompts_need_cron() -> None:
    text = COMPOSE.read_text().lower()
    assert "prompt --now" not in text
    assert "nothing to add to cron" in text
