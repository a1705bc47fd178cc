"""The `trustbot` command: serve, migrate, config check, prompt, report, demo."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Callable, Coroutine
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import aiohttp
import typer
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from trustbot.concurrency import event_loop_factory
from trustbot.config import Settings, SettingsError, load_settings, mask_url_password
from trustbot.core.catalogue import Language
from trustbot.core.privacy import PseudonymKeyMismatchError
from trustbot.db.migrate import MigrationNeedsKeyError, SchemaNotCurrentError
from trustbot.listening import PortUnavailableError
from trustbot.scheduler.jobs import PlatformsFailedError
from trustbot.scheduler.leader import AnotherProcessError

cli = typer.Typer(
    help="trustbot: weekly culture prompts in chat, and trust reports for leadership.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# What `prompt --now` needs besides the key: some platform to send through.
PROMPT_NEEDS = ("TRUSTBOT_PSEUDONYM_KEY",)
# The chat platforms `demo` can simulate.
Platform = Literal["slack", "teams"]
config_cli = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
cli.add_typer(config_cli, name="config")


def _print_version(value: bool) -> None:
    if value:
        # The installed distribution's version (pyproject.toml), not a second copy in the code.
        typer.echo(f"trustbot {metadata.version('trustbot')}")
        raise typer.Exit(0)


@cli.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print trustbot's version and exit.",
        ),
    ] = False,
) -> None:
    """trustbot: weekly culture prompts in chat, and trust reports for leadership."""


def _fail(lines: list[str], code: int) -> NoReturn:
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(code)


def _settings(**overrides: object) -> Settings:
    """Settings from the environment, or exit 2 with one line per bad variable."""
    try:
        return load_settings(**overrides)
    except SettingsError as error:
        _fail(error.lines, 2)


def _run[T](settings: Settings, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run async work; turn what users can fix (settings, database, Slack) into one line."""
    return _run_sync(settings, lambda: asyncio.run(work(), loop_factory=event_loop_factory()))


def _run_sync[T](settings: Settings, work: Callable[[], T]) -> T:
    """Run work; turn what users can fix (settings, database, Slack) into one line."""
    try:
        return work()
    except PortUnavailableError as error:
        _fail([str(error)], 2)
    except PlatformsFailedError as error:  # several platforms failed (one is raised as it was)
        _fail([f"trustbot: {error}"], 1)
    except SettingsError as error:
        _fail(error.lines, 2)
    except SchemaNotCurrentError as error:
        _fail([f"trustbot: {error}"], 1)
    except MigrationNeedsKeyError as error:
        _fail([str(error)], 2)
    except AnotherProcessError as error:
        _fail([str(error)], 1)
    except PseudonymKeyMismatchError as error:
        _fail([str(error)], 2)
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        url = mask_url_password(settings.database_url)
        _fail([f"TRUSTBOT_DATABASE_URL: cannot use the database at {url}: {reason}"], 1)
    except SlackApiError as error:
        method = str(error.response.api_url).rsplit("/", 1)[-1]
        _fail([f"Slack refused {method}: {error.response.get('error', 'unknown_error')}"], 1)
    except (aiohttp.ClientError, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        _fail([f"SLACK_API_URL: cannot reach Slack at {settings.slack_api_url}: {reason}"], 1)


@config_cli.command("check")
def config_check(
    socket_mode: Annotated[
        bool, typer.Option("--socket-mode", help="Check for Socket Mode instead of HTTP.")
    ] = False,
    online: Annotated[
        bool,
        typer.Option(
            "--online", help="Also ask Slack and Microsoft Entra whether the credentials work."
        ),
    ] = False,
) -> None:
    """Validate the settings and print them, secrets masked; exit 2 if `serve` could not start."""
    settings = _settings()
    for name, value in settings.effective().items():
        typer.echo(f"{name}={value}")
    _require_for_serve(settings, socket_mode=socket_mode)
    if online:
        for line in _check_credentials(settings, socket_mode=socket_mode):
            typer.echo(line)
    typer.echo("configuration OK")


def _check_credentials(settings: Settings, *, socket_mode: bool) -> list[str]:
    """Ask the platforms about the credentials; exit 2 with one line per problem."""
    from trustbot.credentials import check_credentials

    report = asyncio.run(check_credentials(settings, socket_mode=socket_mode))
    if not report.ok:
        _fail(report.problems, 2)
    return report.confirmed


@cli.command()
def migrate() -> None:
    """Upgrade the database schema to the newest version."""
    from trustbot.app import open_engine
    from trustbot.db.migrate import current_revision, upgrade_to_head

    settings = _settings()

    async def work() -> str | None:
        key = settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else None
        async with open_engine(settings) as engine:
            await upgrade_to_head(engine, pseudonym_key=key)
            return await current_revision(engine)

    revision = _run(settings, work)
    typer.echo(f"database at {mask_url_password(settings.database_url)} is at revision {revision}")


@cli.command()
def serve(
    socket_mode: Annotated[
        bool, typer.Option("--socket-mode", help="Connect over Socket Mode (SLACK_APP_TOKEN).")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Processes sharing the port (PostgreSQL only; one runs the scheduler).",
        ),
    ] = 1,
) -> None:
    """Run the bot: Slack's request URL, Teams' messaging endpoint, health checks."""
    from trustbot.serving import serve_http, serve_http_workers, serve_socket_mode

    settings = _settings()
    _require_for_serve(settings, socket_mode=socket_mode)
    if workers > 1 and socket_mode:
        _fail(["--workers: Socket Mode takes one process (Slack balances its connections)"], 2)
    if workers > 1 and not settings.database_url.startswith(("postgresql", "postgres://")):
        _fail(["--workers: needs PostgreSQL (TRUSTBOT_DATABASE_URL); SQLite takes one process"], 2)
    if workers > 1 and settings.metrics_port is not None:
        _fail(
            [
                "TRUSTBOT_METRICS_PORT: one port per process, and --workers starts several: run "
                "replicas of one process each instead (each with its own /metrics)"
            ],
            2,
        )
    _check_credentials(settings, socket_mode=socket_mode)
    if socket_mode:
        _run(settings, lambda: serve_socket_mode(settings))
    elif workers > 1:
        _run_sync(settings, lambda: serve_http_workers(settings, workers))
    else:
        _run(settings, lambda: serve_http(settings))


def _require_for_serve(settings: Settings, *, socket_mode: bool) -> None:
    """What `serve` needs for the platforms configured, and no generic SDK variables."""
    try:
        settings.require(*settings.serve_needs(socket_mode=socket_mode))
    except SettingsError as error:
        _fail(error.lines, 2)
    stray = settings.generic_sdk_variables(os.environ)
    if stray:
        _fail(stray, 2)


def _require(settings: Settings, *names: str) -> None:
    try:
        settings.require(*names)
    except SettingsError as error:
        _fail(error.lines, 2)


@cli.command()
def prompt(
    now: Annotated[
        bool, typer.Option("--now", help="Open this week's round and send the prompts now.")
    ] = False,
) -> None:
    """Send this period's prompt to everyone in TRUSTBOT_AUDIENCE who has not had it."""
    from trustbot.administration import prompt_now

    if not now:
        _fail(["trustbot prompt: pass --now to send this week's prompts right away"], 2)
    settings = _settings()
    _require(settings, *PROMPT_NEEDS)
    if not (settings.slack_enabled or settings.teams_enabled):
        _fail(["SLACK_BOT_TOKEN: is required but not set (or configure Teams)"], 2)
    summary = _run(settings, lambda: prompt_now(settings))
    typer.echo(summary)


@cli.command()
def report(
    weeks: Annotated[int, typer.Option(min=1, max=52, help="How many weeks back.")] = 8,
    rule: Annotated[int | None, typer.Option(min=1, max=20, help="One rule only.")] = None,
    team: Annotated[str | None, typer.Option(help="One team of TRUSTBOT_TEAMS only.")] = None,
) -> None:
    """Print the trust report in the terminal (for operators with database access)."""
    from trustbot.administration import report_text
    from trustbot.core.reports import ReportRequest
    from trustbot.core.rules import load_rules

    settings = _settings()
    _require(settings, "TRUSTBOT_PSEUDONYM_KEY")
    if team is not None and team not in settings.teams:
        known = ", ".join(settings.teams) or "none: TRUSTBOT_TEAMS is empty"
        _fail([f"--team: {team!r} is not a team of TRUSTBOT_TEAMS (the teams: {known})"], 2)
    if rule is not None:
        count = len(load_rules(settings.rules_file))
        if rule > count:
            _fail([f"--rule: there is no rule {rule}; the rules are numbered 1-{count}"], 2)
    request = ReportRequest(weeks=weeks, rule=rule, team=team)
    typer.echo(_run(settings, lambda: report_text(settings, request)))


@cli.command()
def forget(
    user_id: Annotated[
        str,
        typer.Argument(
            help="The person's Slack user id (U0123ABC) or, on Teams, Entra object id (a GUID)."
        ),
    ],
) -> None:
    """Erase a person's answers, stories, deliveries and settings; print what was removed."""
    from trustbot.administration import forget_text

    settings = _settings()
    _require(settings, "TRUSTBOT_PSEUDONYM_KEY")
    if re.match(r"^[UW][A-Z0-9]{2,}$", user_id):
        platform = "slack"
    elif re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", user_id):
        platform, user_id = "teams", user_id.lower()
    else:
        _fail(
            [
                f"trustbot forget: {user_id!r} is neither a Slack user id (U… or W…) nor an "
                "Entra object id (a GUID, for Teams)"
            ],
            2,
        )
    typer.echo(_run(settings, lambda: forget_text(settings, user_id, platform=platform)))


@cli.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="Directory for the CSV files.")],
) -> None:
    """Write aggregates, anonymised answers and consented stories as CSV (threshold applied)."""
    from trustbot.administration import export_files

    settings = _settings()
    _require(settings, "TRUSTBOT_PSEUDONYM_KEY")
    typer.echo(_run(settings, lambda: export_files(settings, out)))


@cli.command()
def schedule(
    count: Annotated[
        int, typer.Option(min=1, max=50, help="How many coming runs of each job.")
    ] = 5,
) -> None:
    """Print when each job runs next (in TRUSTBOT_TIMEZONE) and which rule each prompt asks."""
    from trustbot.administration import schedule_text

    settings = _settings()
    typer.echo(_run(settings, lambda: schedule_text(settings, count=count)))


@cli.command()
def status() -> None:
    """Print this week's round, what the outbox delivered or failed, next runs and the leader."""
    from trustbot.administration import status_text

    settings = _settings()
    _require(settings, "TRUSTBOT_PSEUDONYM_KEY")
    typer.echo(_run(settings, lambda: status_text(settings)))


DEMO_NEEDS_DEVTOOLS = (
    "trustbot demo needs trustbot.devtools (the emulators), which the installed package leaves "
    "out: run it from a clone of the repository with `make demo`"
)


@cli.command()
def demo(
    employees: Annotated[int, typer.Option(min=5, max=500)] = 40,
    weeks: Annotated[int, typer.Option(min=1, max=52)] = 8,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same run.")] = 7,
    language: Annotated[Language, typer.Option(help="Language of the prompts and report.")] = "en",
    platform: Annotated[
        Platform, typer.Option(help="Chat platform to simulate: slack or teams.")
    ] = "slack",
) -> None:
    """Simulate a company against a local Slack (or Teams) emulator and print the report."""
    # devtools is a test and demo kit that the wheel leaves out: only this command loads it.
    try:
        if platform == "teams":
            from trustbot.devtools.demo_teams import run_teams_demo as run
        else:
            from trustbot.devtools.demo import run_demo as run
    except ModuleNotFoundError as missing:
        if not (missing.name or "").startswith("trustbot.devtools"):
            raise
        typer.echo(DEMO_NEEDS_DEVTOOLS, err=True)
        sys.exit(2)

    sys.exit(asyncio.run(run(employees=employees, weeks=weeks, seed=seed, language=language)))


@cli.command("teams-package")
def teams_package(
    source: Annotated[
        Path, typer.Option("--from", help="Directory with manifest.json and the icons.")
    ] = Path("deploy/teams"),
    out: Annotated[Path, typer.Option("--out", help="Where to write the zip.")] = Path(
        "dist/trustbot-teams.zip"
    ),
) -> None:
    """Build the Teams app package (manifest with this bot's id, icons) to upload in Teams."""
    from trustbot.teams.package import PACKAGE_NEEDS, PackageError, build_package

    settings = _settings()
    _require(settings, *PACKAGE_NEEDS)
    try:
        package = build_package(settings, source, out)
    except PackageError as error:
        _fail([f"trustbot teams-package: {error}"], 1)
    typer.echo(
        f"wrote {package.path} (app {package.manifest['id']}, version "
        f"{package.manifest['version']}): upload it in Teams or the Teams admin center"
    )


def main() -> None:
    """Entry point of the console script."""
    cli()
