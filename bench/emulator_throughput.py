"""Benchmark: how many chat.postMessage calls per second the local Slack emulator serves.

Prints figures; asserts nothing but that every message arrived exactly once. A slack_sdk
AsyncWebClient (one aiohttp session) posts --messages DMs by user id to --users people, with
--concurrency calls in flight, against an emulator without rate limits or failures. The client
runs in the emulator's own event loop (as in the unit tests), or with --client-process in a
separate process (as when a benchmark drives trustbot running as its own process).

    .venv/bin/python bench/emulator_throughput.py [--messages 10000] [--users 10000]
        [--concurrency 1 10 50] [--client-process]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.devtools.emulator import EmulatedUser, SlackEmulator

TOKEN = "xoxb-bench-emulator"  # noqa: S105 - a made-up token for the local emulator


def _user_id(index: int) -> str:
    return f"U{index:07d}"


async def post_messages(base_url: str, messages: int, users: int, concurrency: int) -> float:
    """Post the messages, ``concurrency`` at a time; the seconds it took."""
    next_index = iter(range(messages))
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=TOKEN, base_url=base_url, session=session)

        async def worker() -> None:
            for index in next_index:
                await client.chat_postMessage(channel=_user_id(index % users), text=f"m{index}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


async def _in_a_process(base_url: str, messages: int, users: int, concurrency: int) -> float:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client-only",
        base_url,
        f"--messages={messages}",
        f"--users={users}",
        f"--concurrency={concurrency}",
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the client process failed with exit code {process.returncode}")
    seconds: float = json.loads(stdout)["seconds"]
    return seconds


async def main(messages: int, users: int, concurrencies: list[int], client_process: bool) -> None:
    people = [EmulatedUser(id=_user_id(i), name=f"u{i}", real_name=f"U {i}") for i in range(users)]
    where = "a separate process" if client_process else "the emulator's event loop"
    print(f"{messages} chat.postMessage calls to {users} users; client in {where}")
    for concurrency in concurrencies:
        async with SlackEmulator(bot_token=TOKEN, users=people) as emulator:
            if client_process:
                seconds = await _in_a_process(emulator.base_url, messages, users, concurrency)
            else:
                seconds = await post_messages(emulator.base_url, messages, users, concurrency)
            counts = emulator.dm_message_counts()
            per_user = -(-messages // users)
            assert emulator.performed_counts["chat.postMessage"] == messages
            assert sum(counts.values()) == messages  # none lost
            assert max(counts.values()) <= per_user  # none twice
        print(
            f"concurrency {concurrency:>3}: {seconds:6.2f} s, {messages / seconds:6.0f} calls/s, "
            f"{seconds / messages * 1000 * concurrency:5.2f} ms per call"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--client-process", action="store_true")
    parser.add_argument("--client-only", metavar="BASE_URL", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.client_only:
        seconds = asyncio.run(
            post_messages(
                arguments.client_only,
                arguments.messages,
                arguments.users,
                arguments.concurrency[0],
            )
        )
        print(json.dumps({"seconds": seconds}))
    else:
        asyncio.run(
            main(
                arguments.messages,
                arguments.users,
                arguments.concurrency,
                arguments.client_process,
            )
        )
