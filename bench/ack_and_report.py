"""Benchmark: how fast the bot acknowledges score clicks, and how fast /trust-report aggregates.

Prints figures; asserts nothing. Runs the bot exactly as the demo does (emulator, real HTTP,
real signatures) on a temporary SQLite database, or on PostgreSQL with --database-url
(a scratch database: every trustbot table in it is emptied first).

    .venv/bin/python bench/ack_and_report.py [--people 300] [--weeks 51] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete

from trustbot.app import build_runtime
from trustbot.config import load_settings
from trustbot.core.periods import period_of
from trustbot.core.reports import build_trust_report
from trustbot.core.rounds import open_round
from trustbot.db.base import Base
from trustbot.db.migrate import upgrade_to_head
from trustbot.db.models import Delivery, DeliveryKind, DeliveryStatus, PulseAnswer
from trustbot.devtools.driver import SlackDriver
from trustbot.devtools.emulator import EmulatedUser, LoopbackServer, SlackEmulator
from trustbot.operations import run_prompt_now


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main(people: int, weeks: int, database_url: str | None) -> None:
    token, secret = "xoxb-bench-" + secrets.token_hex(8), secrets.token_hex(16)
    users = [
        EmulatedUser(id=f"U{index:07d}", name=f"u{index}", real_name=f"U {index}")
        for index in range(people)
    ]
    with tempfile.TemporaryDirectory() as workdir:
        url = database_url or f"sqlite:///{Path(workdir) / 'bench.db'}"
        async with SlackEmulator(bot_token=token, users=users, page_size=1000) as emulator:
            settings = load_settings(
                _env_file=None,
                SLACK_BOT_TOKEN=token,
                SLACK_SIGNING_SECRET=secret,
                SLACK_API_URL=emulator.base_url,
                TRUSTBOT_DATABASE_URL=url,
                TRUSTBOT_PSEUDONYM_KEY=secrets.token_hex(32),
                TRUSTBOT_AUDIENCE=",".join(user.id for user in users),
            )
            now = datetime.now(UTC)
            runtime = build_runtime(settings, clock=lambda: now)
            await upgrade_to_head(runtime.engine)
            async with runtime.engine.begin() as connection:
                for table in reversed(Base.metadata.sorted_tables):
                    await connection.execute(delete(table))
            services = runtime.services

            # History: `weeks` rounds with a delivery and an answer from everyone, bulk-inserted.
            async with services.sessions() as session, session.begin():
                for back in range(weeks, 0, -1):
                    period = period_of(now - timedelta(weeks=back), settings.zone)
                    round_, _ = await open_round(
                        session=session, rules=services.rules, period=period, now=now
                    )
                    await session.execute(
                        Delivery.__table__.insert(),
                        [
                            {
                                "kind": DeliveryKind.PROMPT.value,
                                "period": period,
                                "round_id": round_.id,
                                "platform": "slack",
                                "recipient": f"p{i}",
                                "seq": 0,
                                "status": DeliveryStatus.SENT.value,
                                "attempts": 1,
                                "created_at": now,
                            }
                            for i in range(people)
                        ],
                    )
                    await session.execute(
                        PulseAnswer.__table__.insert(),
                        [
                            {
                                "round_id": round_.id,
                                "respondent": f"p{i}",
                                "score": 1 + i % 5,
                                "answered_at": now,
                                "updated_at": now,
                            }
                            for i in range(people)
                        ],
                    )

            await runtime.start()
            started = time.perf_counter()
            summary = await run_prompt_now(runtime)
            send_seconds = time.perf_counter() - started

            bot = LoopbackServer(runtime.web_app())
            async with (
                bot,
                SlackDriver(
                    bot_url=bot.url + "/slack/events", signing_secret=secret, emulator=emulator
                ) as driver,
            ):
                latencies = []
                for user in users:
                    message = emulator.messages_in(emulator.dm_channel_for(user.id))[-1]
                    started = time.perf_counter()
                    response = await driver.click_button(
                        user_id=user.id, message=message, action_id="pulse_score:4"
                    )
                    latencies.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                await emulator.wait_for(lambda: len(emulator.ephemerals) >= people, timeout=120)

            report_times = []
            for _ in range(5):
                started = time.perf_counter()
                async with services.sessions() as session:
                    await build_trust_report(
                        session=session,
                        current_period=services.current_period(),
                        weeks=min(weeks + 1, 52),
                        min_group_size=5,
                        rules=services.rules,
                    )
                report_times.append((time.perf_counter() - started) * 1000)
            await runtime.aclose()

    backend = url.split(":", 1)[0]
    print(
        f"backend: {backend}; people: {people}; history: {weeks} weeks ({weeks * people} answers)"
    )
    print(
        f"prompt run: {summary.sent} DMs in {send_seconds:.2f} s "
        f"({summary.sent / send_seconds:.0f}/s against the local emulator)"
    )
    print(
        f"score click ack (HTTP round trip, signed): p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {_percentile(latencies, 0.95):.1f} ms, p99 {_percentile(latencies, 0.99):.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )
    print(
        f"/trust-report aggregation ({min(weeks + 1, 52)} weeks): "
        f"median {statistics.median(report_times):.1f} ms, max {max(report_times):.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--weeks", type=int, default=51)
    parser.add_argument("--database-url", default=None)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.people, arguments.weeks, arguments.database_url))
