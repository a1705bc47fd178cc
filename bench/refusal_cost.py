"""Benchmark: the CPU it costs each front door to refuse a hostile request. Prints figures.

    .venv/bin/python bench/refusal_cost.py [--calls 50]

trustbot is built as `serve` builds it (Slack and Teams on, SQLite in a temporary directory, the
Teams emulator for Microsoft's keys) and each request goes through the ASGI app in this process
(httpx's ASGI transport, no socket). Each figure is this process's CPU time per request
(time.process_time), the best of 3 rounds after a warm-up: the client's own work is in it, so it
is an upper bound of what the door spends. The property (docs/security.md): no request costs
more than 10 ms of CPU to refuse; the hostile corpora test that each one *is* refused.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import httpx

from trustbot.app import open_runtime
from trustbot.config import load_settings
from trustbot.db.migrate import upgrade_to_head
from trustbot.db.session import create_engine
from trustbot.devtools.teams_emulator import TeamsEmulator, TeamsUser, new_signing_key
from trustbot.slack.front_door import MAX_BODY_BYTES as SLACK_LIMIT
from trustbot.teams.front_door import MAX_BODY_BYTES as TEAMS_LIMIT

SECRET = "bench-signing-secret"  # noqa: S105 - a local bench's own secret
APP_ID = "0b7c3f1e-2d4a-4e5b-8c6d-7e8f9a0b1c2d"
PERSON = TeamsUser(aad_object_id="aaaaaaaa-1111-4111-8111-000000000001", name="Person")
FORM = "application/x-www-form-urlencoded"


def _signed(body: bytes, content_type: str = FORM) -> tuple[bytes, dict[str, str]]:
    at = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{at}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": at}
    return body, headers | {"X-Slack-Signature": f"v0={digest}"}


def _payload(text: str) -> bytes:
    return urlencode({"payload": text}).encode()


def _fill(prefix: str, unit: str, suffix: str, limit: int) -> str:
    """`prefix` + as many `unit` as fit under `limit` bytes once form-encoded + `suffix`."""
    room = (limit - 200) // max(1, len(urlencode({"p": unit})) - 2)
    return prefix + unit * room + suffix


def slack_cases() -> dict[str, Callable[[], tuple[bytes, dict[str, str]]]]:
    """What each request is, and how it is made (fresh timestamps each time)."""
    near = SLACK_LIMIT - 1024
    tokens = _fill('{"type": "block_actions", "x": [', "0,", "0]}", near)
    objects = _fill('{"type": "block_actions", "x": [', "{},", "{}]}", near)
    words = _fill('{"type": "block_actions", "x": "', "a", '"}', near)
    return {
        "unsigned, at the limit": lambda: (b"x" * near, {"Content-Type": FORM}),
        "over the limit (declared)": lambda: (b"x" * (SLACK_LIMIT + 1), {"Content-Type": FORM}),
        "signed, tokens up to the limit": lambda: _signed(_payload(tokens)),
        "signed, objects up to the limit": lambda: _signed(_payload(objects)),
        "signed, 100,000 deep": lambda: _signed(_payload('{"x": ' + "[" * 100_000 + "}")),
        "signed, a 5,000-digit number": lambda: _signed(_payload('{"n": ' + "9" * 5000 + "}")),
        "signed, 1e999999": lambda: _signed(_payload('{"type": "x", "n": 1e999999}')),
        "signed, a string up to the limit": lambda: _signed(_payload(words)),
    }


def teams_cases(emulator: TeamsEmulator) -> dict[str, Callable[[], tuple[bytes, dict[str, str]]]]:
    """Teams parses before the SDK checks the token: what an unauthenticated sender can cost."""
    near = TEAMS_LIMIT - 1024
    json_type = {"Content-Type": "application/json"}
    forged = {"Authorization": "Bearer " + emulator.mint(key=new_signing_key())}
    activity = {
        "type": "message",
        "id": "1",
        "serviceUrl": emulator.service_url,
        "from": {"id": PERSON.teams_id, "aadObjectId": PERSON.aad_object_id},
        "conversation": {"id": "a:1", "tenantId": PERSON.tenant_id},
        "recipient": {"id": emulator.bot_id},
        "text": "",
    }
    big_text = json.dumps({**activity, "text": "a" * (near - 600)}).encode()
    return {
        "no token, tokens up to the limit": lambda: (b"[" + b"0," * (near // 2) + b"0]", json_type),
        "no token, objects up to the limit": lambda: (
            b"[" + b"{}," * (near // 3) + b"{}]",
            json_type,
        ),
        "no token, 100,000 deep": lambda: (b"[" * 100_000, json_type),
        "no token, a 5,000-digit number": lambda: (b'{"n": ' + b"9" * 5000 + b"}", json_type),
        "no token, a message at the limit": lambda: (big_text, json_type),
        "forged token, a message at the limit": lambda: (big_text, json_type | forged),
        "forged token, a small message": lambda: (
            json.dumps(activity).encode(),
            json_type | forged,
        ),
        "over the limit (declared)": lambda: (b"x" * (TEAMS_LIMIT + 1), json_type),
    }


async def cpu_per_request(
    client: httpx.AsyncClient,
    path: str,
    make: Callable[[], tuple[bytes, dict[str, str]]],
    calls: int,
) -> tuple[float, int]:
    """ms of this process's CPU per request (best of 3 rounds, after a warm-up), and the status."""
    body, headers = make()
    status = (await client.post(path, content=body, headers=headers)).status_code
    rounds = []
    for _ in range(3):
        requests = [make() for _ in range(calls)]  # made outside the measured time
        began = time.process_time()
        for body, headers in requests:
            await client.post(path, content=body, headers=headers)
        rounds.append((time.process_time() - began) / calls * 1000)
    return min(rounds), status


async def main(calls: int) -> None:
    logging.disable(logging.WARNING)  # one refusal line per request would drown the figures
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        engine = create_engine(url)
        await upgrade_to_head(engine)
        await engine.dispose()
        async with TeamsEmulator(app_id=APP_ID, users=[PERSON]) as emulator:
            settings = load_settings(
                _env_file=None,
                TRUSTBOT_DATABASE_URL=url,
                TRUSTBOT_PSEUDONYM_KEY="bench-pseudonym-key-0123456789abcdef0123",
                SLACK_BOT_TOKEN="xoxb-bench",  # noqa: S106 - nothing is sent to Slack
                SLACK_SIGNING_SECRET=SECRET,
                TEAMS_CLIENT_ID=APP_ID,
                TEAMS_TENANT_ID=PERSON.tenant_id,
                TEAMS_OPENID_URL=emulator.openid_url,
                TEAMS_SERVICE_URL=emulator.service_url,
            )
            async with (
                open_runtime(
                    settings, teams_token=lambda scope, tenant=None: emulator.mint()
                ) as runtime,
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=runtime.web_app()), base_url="http://bench"
                ) as client,
            ):
                print(f"CPU per refused request (ms, best of 3 x {calls}; client included)")
                for door, path, cases in (
                    ("Slack", "/slack/events", slack_cases()),
                    ("Teams", "/api/messages", teams_cases(emulator)),
                ):
                    for name, make in cases.items():
                        cost, status = await cpu_per_request(client, path, make, calls)
                        print(f"  {door:5} {name:34} {status}  {cost:6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    asyncio.run(main(parser.parse_args().calls))
