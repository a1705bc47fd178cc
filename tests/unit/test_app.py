"""The composition root: what it opened is closed again, however the block ends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import trustbot.app
from tests.conftest import make_settings
from trustbot.app import open_runtime, open_services
from trustbot.core.privacy import PseudonymKeyMismatchError
from trustbot.db.database import Database


class Opened:
    """Records what the root opens and whether it was closed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.engines: list[AsyncEngine] = []
        self.disposed: list[AsyncEngine] = []
        self.databases_closed = 0
        self.sessions: list[Any] = []
        create_engine = trustbot.app.create_engine
        notifier = trustbot.app._slack_notifier

        def recording_engine(url: str) -> AsyncEngine:
            engine = create_engine(url)
            self.engines.append(engine)
            return engine

        dispose = AsyncEngine.dispose

        async def recording_dispose(engine: AsyncEngine, close: bool = True) -> None:
            self.disposed.append(engine)
            await dispose(engine, close)

        def recording_notifier(settings: Any, client: Any, sender_client: Any) -> Any:
            self.sessions.append(client.session)
            return notifier(settings, client, sender_client)

        close = Database.close

        async def recording_close(database: Database) -> None:
            self.databases_closed += 1
            await close(database)

        monkeypatch.setattr(trustbot.app, "create_engine", recording_engine)
        monkeypatch.setattr(trustbot.app, "_slack_notifier", recording_notifier)
        monkeypatch.setattr(Database, "close", recording_close)
        monkeypatch.setattr(AsyncEngine, "dispose", recording_dispose)

    def all_closed(self) -> bool:
        return (
            all(engine in self.disposed for engine in self.engines)
            and self.databases_closed == len(self.engines)
            and all(session.closed for session in self.sessions)
        )


async def test_a_runtime_that_fails_half_way_closes_what_it_had_opened(
    database_url: str, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    del engine  # an emptied, migrated database
    opened = Opened(monkeypatch)

    def failing_jobs(*args: object) -> None:
        raise RuntimeError("half-way")

    monkeypatch.setattr(trustbot.app, "Jobs", failing_jobs)  # after the Slack clients opened
    with pytest.raises(RuntimeError, match="half-way"):
        async with open_runtime(make_settings(database_url)):
            pytest.fail("the runtime should not have opened")

    assert len(opened.engines) == 1
    assert len(opened.sessions) == 1  # the Slack clients' HTTP session was open
    assert opened.all_closed()


async def test_a_refused_key_closes_the_database_it_opened(
    database_url: str, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    del engine
    async with open_services(make_settings(database_url)):
        pass  # the database now remembers the test key
    opened = Opened(monkeypatch)

    with pytest.raises(PseudonymKeyMismatchError):
        async with open_runtime(
            make_settings(database_url, TRUSTBOT_PSEUDONYM_KEY="another-key-" + "7" * 40)
        ):
            pytest.fail("a changed key must stop the command")

    assert len(opened.engines) == 1
    assert opened.all_closed()


async def test_a_runtime_that_ends_normally_closes_everything(
    database_url: str, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    del engine
    opened = Opened(monkeypatch)

    async with open_runtime(make_settings(database_url)) as runtime:
        assert runtime.client is not None
        assert runtime.client.session is not None
        assert not runtime.client.session.closed

    assert len(opened.sessions) == 1
    assert opened.all_closed()
