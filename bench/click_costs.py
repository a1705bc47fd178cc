"""Benchmark: the CPU cost of two parts of a score click, each in a loop. Prints figures.

    .venv/bin/python bench/click_costs.py [--database-url URL] [--calls 3000]

1. The score upsert (core.prompts._score_statements) on PostgreSQL, run by itself in autocommit:
   - "engine, autocommit toggled": SQLAlchemy's async engine, the connection switched to
     AUTOCOMMIT for the statement (trustbot before decision 32);
   - "direct (psycopg_pool)": trustbot's Services.write_one on PostgreSQL (db/direct.py);
   - "bare psycopg connection": the same SQL on one psycopg connection, no pool (the floor).
   The parameters match no delivery, so nothing is written and every call does the same work.
2. bolt's dispatch of a score click through trustbot's Slack app (listeners registered as
   trustbot registers them, the score listener replaced by one that only acks), beside a bolt
   app with that one listener, also answering before its listener returns (the floor). The
   bot token is checked once against the local Slack emulator.

Each figure is this process's CPU time per call (time.process_time), the best of 3 rounds after a
warm-up; the database's own CPU is not in it. **--database-url must exist** (nothing is written):
default postgresql://postgres@127.0.0.1:5432/trustbot_ingest_bench, '' skips part 1.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

import trustbot.slack.listeners.actions as actions
from trustbot.core.prompts import _score_statements
from trustbot.db.direct import DirectStatements
from trustbot.db.session import create_engine
from trustbot.devtools.emulator import EmulatedUser, SlackEmulator

PARAMETERS = {
    "message_key": "no-such-message",
    "recipient": "no-such-delivery-handle",
    "respondent": "no-such-answer-handle",
    "round_id": 0,
    "current_period": "2026-W48",
    "score": 3,
    "acted_us": 1,
    "opened_by": datetime(2026, 11, 26, tzinfo=UTC),
}


async def cpu_per_call(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    """µs of this process's CPU per call: the best of 3 rounds, after a warm-up."""
    for _ in range(min(calls, 300)):
        await call()
    rounds = []
    for _ in range(3):
        began = time.process_time()
        for _ in range(calls):
            await call()
        rounds.append((time.process_time() - began) / calls * 1e6)
    return min(rounds)


async def statement_costs(url: str, calls: int) -> None:
    upsert, _ = _score_statements("postgresql")
    engine = create_engine(url)
    direct = DirectStatements(url)
    bare = await psycopg.AsyncConnection.connect(url, autocommit=True)
    sql, fixed = direct._compile(upsert)  # the very SQL the direct path sends

    async def toggled() -> None:
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            (await autocommit.execute(upsert, PARAMETERS)).first()

    async def direct_path() -> None:
        await direct.first(upsert, PARAMETERS)

    async def bare_connection() -> None:
        await (await bare.execute(sql, {**fixed, **PARAMETERS}, prepare=True)).fetchone()

    try:
        print("score upsert on PostgreSQL, CPU per call:")
        for name, call in (
            ("engine, autocommit toggled", toggled),
            ("direct (psycopg_pool)", direct_path),
            ("bare psycopg connection", bare_connection),
        ):
            print(f"  {name:28} {await cpu_per_call(call, calls):6.0f} µs")
    finally:
        await bare.close()
        await direct.close()
        await engine.dispose()


def click_body() -> dict[str, Any]:
    """A score click as Slack sends it (the message's blocks left out: bolt does not read them)."""
    return {
        "type": "block_actions",
        "team": {"id": "T0TRUST", "domain": "trustbot"},
        "user": {"id": "U0000001", "team_id": "T0TRUST"},
        "api_app_id": "A0TRUST",
        "container": {"type": "message", "message_ts": "1.2", "channel_id": "D1"},
        "trigger_id": "1.2.3",
        "channel": {"id": "D1", "name": "directmessage"},
        "message": {"ts": "1.2", "text": "prompt", "blocks": []},
        "actions": [
            {
                "action_id": "pulse_score:3",
                "block_id": "pulse",
                "value": "1:3",
                "type": "button",
                "action_ts": "1700000000.000001",
            }
        ],
    }


async def dispatch_costs(calls: int) -> None:
    token = "xoxb-bench"  # noqa: S105 - the emulator's made-up token
    async with SlackEmulator(
        bot_token=token, users=[EmulatedUser(id="U0000001", name="u1", real_name="U1")]
    ) as emulator:
        client = AsyncWebClient(token=token, base_url=emulator.base_url)

        async def only_ack(ack: Any, body: Any, client: Any, context: Any) -> None:
            await ack()

        # trustbot's app: its registration order, its middleware, the score listener stubbed.
        actions.handle_score_click = only_ack  # type: ignore[assignment]
        from trustbot.slack.app import create_slack_app  # after the stub

        trustbot_app = create_slack_app(object(), client)  # type: ignore[arg-type]
        floor = AsyncApp(
            client=client, request_verification_enabled=False, process_before_response=True
        )
        floor.action("pulse_score:3")(only_ack)
        body = click_body()
        print("bolt dispatch of a score click, CPU per call:")
        for name, app in (("trustbot's app", trustbot_app), ("bolt app, one listener", floor)):

            async def dispatch(app: AsyncApp = app) -> None:
                request = AsyncBoltRequest(body=body, headers={}, mode="socket_mode")
                response = await app.async_dispatch(request)
                assert response.status == 200, response.status

            print(f"  {name:28} {await cpu_per_call(dispatch, calls):6.0f} µs")


async def main(args: argparse.Namespace) -> None:
    if args.database_url:
        await statement_costs(args.database_url, args.calls)
    await dispatch_costs(args.calls)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/trustbot_ingest_bench"
    )
    parser.add_argument("--calls", type=int, default=3000)
    asyncio.run(main(parser.parse_args()))
