"""Migration 0007 on a database written the old way (revision 0006): one pseudonym in answers,
deliveries and reactions, one author key per person and round on stories, counting ids and
Fernet seals. After `trustbot migrate` the reader's joins find nothing, and everything still
works with the key: reports, a click, a Teams reference, `forget`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TEST_KEY, FixedClock, make_settings
from tests.privacy.db_reader import dump, fernet_times, find_joins
from trustbot.app import open_services
from trustbot.core.erasure import forget_person
from trustbot.core.legacy import FernetSeal
from trustbot.core.privacy import keyed_hash, pseudonym
from trustbot.core.prompts import Actor, PromptAddress, ScoreOutcome, record_score
from trustbot.core.reports import current_trust_report
from trustbot.db.migrate import MigrationNeedsKeyError, current_revision, downgrade_to
from trustbot.db.migrate import upgrade_to_head as upgrade

USERS = ["U0OLD1", "U0OLD2", "U0OLD3", "U0OLD4"]
TEAM = {"U0OLD1": "Sales", "U0OLD2": "Sales", "U0OLD3": "Support", "U0OLD4": "Support"}
CLOSED, OPEN = 1, 2
SCORES = {CLOSED: {"U0OLD1": 4, "U0OLD2": 2, "U0OLD3": 5}, OPEN: {"U0OLD1": 3, "U0OLD3": 1}}
AT = "2026-11-16 09:00:00+00:00"


def _p(user: str) -> str:
    return pseudonym(user, key=TEST_KEY, platform="slack")


def _old_rows() -> list[tuple[str, dict[str, Any]]]:
    """Rows as revision 0006's code wrote them (its formulas, its Fernet seal)."""
    seal = FernetSeal(TEST_KEY)
    rows: list[tuple[str, dict[str, Any]]] = [
        (
            "INSERT INTO rules (id, position, text_da, text_en, created_at)"
            " VALUES (1, 1, 'da', 'en', :at)",
            {"at": AT},
        ),
        (
            "INSERT INTO rounds (id, period, kind, rule_id, opened_at, closed_at)"
            " VALUES (1, '2026-W47', 'pulse', 1, :at, :at), (2, '2026-W48', 'pulse', 1, :at, NULL)",
            {"at": AT},
        ),
    ]
    delivery = 0
    for round_id in (CLOSED, OPEN):
        period = "2026-W47" if round_id == CLOSED else "2026-W48"
        for user in USERS:
            delivery += 1
            rows.append(
                (
                    "INSERT INTO deliveries (id, kind, period, round_id, platform, recipient, seq,"
                    " status, address, team, message_key, message_ref, attempts, created_at,"
                    " sent_at) VALUES (:id, 'prompt', :period, :round, 'slack', :p, 0, 'sent',"
                    " :address, :team, :mkey, :mref, 1, :at, :at)",
                    {
                        "id": delivery,
                        "period": period,
                        "round": round_id,
                        "p": _p(user),
                        "address": seal.seal(user),
                        "team": TEAM[user],
                        "mkey": keyed_hash("message", f"slack:D{user}:{round_id}.0", key=TEST_KEY),
                        "mref": seal.seal(f"D{user} {round_id}.0"),
                        "at": AT,
                    },
                )
            )
        for user, score in SCORES[round_id].items():
            rows.append(
                (
                    "INSERT INTO pulse_answers (round_id, respondent, score, acted_us, revision)"
                    " VALUES (:round, :p, :score, :us, 0)",
                    {
                        "round": round_id,
                        "p": _p(user),
                        "score": score,
                        "us": 0 if round_id == 1 else 7,
                    },
                )
            )
    # A reminder withdrawn because U0OLD1 answered: the old sender kept it, saying so.
    rows.append(
        (
            "INSERT INTO deliveries (id, kind, period, round_id, platform, recipient, seq, status,"
            " address, team, attempts, last_error, created_at) VALUES (99, 'reminder',"
            " '2026-W48', 2, 'slack', :p, 1, 'skipped', :address, 'Sales', 0, 'answered', :at)",
            {"p": _p("U0OLD1"), "address": seal.seal("U0OLD1"), "at": AT},
        )
    )
    stories = [  # two of U0OLD1's in one week: one author key joined them
        (1, CLOSED, "U0OLD1", "named", "Old named story"),
        (2, CLOSED, "U0OLD1", "anonymous", "Old anonymous story"),
        (3, CLOSED, "U0OLD3", "private", "Old private story"),
        (4, OPEN, "U0OLD3", "anonymous", "Open week story"),
    ]
    for story_id, round_id, user, visibility, words in stories:
        rows.append(
            (
                "INSERT INTO anecdotes (id, round_id, rule_id, author_key, author_user_id,"
                " visibility, text, source_id) VALUES (:id, :round, 1, :key, :uid, :vis, :text,"
                " :source)",
                {
                    "id": story_id,
                    "round": round_id,
                    "key": keyed_hash("story", f"{_p(user)}:{round_id}", key=TEST_KEY),
                    "uid": user if visibility == "named" else None,
                    "vis": visibility,
                    "text": words,
                    "source": f"V{story_id}",
                },
            )
        )
    rows.append(
        (
            "INSERT INTO reactions (id, round_id, delivery_id, reactor, emoji, created_at,"
            " present, event_us) VALUES (1, 1, 1, :p, 'tada', :at, TRUE, 5)",
            {"p": _p("U0OLD1"), "at": AT},
        )
    )
    rows.append(
        (
            "INSERT INTO teams_conversations (key, kind, reference, installed, updated_at)"
            " VALUES (:key, 'personal', :ref, TRUE, :at)",
            {
                "key": keyed_hash("teams-person", "aad-1", key=TEST_KEY),
                "ref": seal.seal(json.dumps({"conversation_id": "a:1", "service_url": "u"})),
                "at": AT,
            },
        )
    )
    rows.append(
        (
            "INSERT INTO person_settings (subject, paused, updated_at) VALUES (:s, FALSE, :at)",
            {"s": keyed_hash("settings", "slack:U0OLD2", key=TEST_KEY), "at": AT},
        )
    )
    for team, delivered, answered, total, n in (
        ("Sales", 2, 2, 6, (0, 1, 0, 1, 0)),
        ("Support", 2, 1, 5, (0, 0, 0, 0, 1)),
        ("*", 4, 3, 11, (0, 1, 0, 1, 1)),
    ):
        rows.append(
            (
                "INSERT INTO round_aggregates (round_id, team, delivered, answered, score_sum,"
                " n1, n2, n3, n4, n5, reactions, stories_shared, stories_private) VALUES"
                " (1, :team, :d, :a, :s, :n1, :n2, :n3, :n4, :n5, :r, :sh, :pr)",
                {
                    "team": team,
                    "d": delivered,
                    "a": answered,
                    "s": total,
                    "n1": n[0],
                    "n2": n[1],
                    "n3": n[2],
                    "n4": n[3],
                    "n5": n[4],
                    "r": 1 if team in ("Sales", "*") else 0,
                    "sh": 2 if team == "*" else 0,
                    "pr": 1 if team == "*" else 0,
                },
            )
        )
    return rows


async def _write_the_old_way(engine: AsyncEngine) -> None:
    await downgrade_to(engine, "0006", pseudonym_key=TEST_KEY)
    async with engine.begin() as connection:
        for statement, values in _old_rows():
            await connection.execute(text(statement), values)


async def test_the_old_links_are_gone_and_everything_works(
    engine: AsyncEngine, database_url: str, clock: FixedClock
) -> None:
    try:
        await _write_the_old_way(engine)
        old = await dump(engine)
        # The reader's attacks find the old links (so the checks below can fail).
        old_joins = {(j.left, j.right) for j in find_joins(old)}
        assert ("deliveries.recipient", "pulse_answers.respondent") in old_joins
        assert ("anecdotes.author_key", "anecdotes.author_key") in old_joins
        assert fernet_times(old)
    finally:
        await upgrade(engine, pseudonym_key=TEST_KEY)
    assert await current_revision(engine) == "0007"

    new = await dump(engine)
    assert find_joins(new) == []
    assert fernet_times(new) == []
    assert len(new["pulse_answers"]) == 5
    assert len(new["anecdotes"]) == 4
    assert not [row for row in new["deliveries"] if row["last_error"] == "answered"]
    assert {row["id"] for row in new["deliveries"]}.isdisjoint(range(1, 100))
    assert all(row["acted_us"] == 0 for row in new["pulse_answers"] if row["round_id"] == 1)
    assert all(row["source_id"] is None for row in new["anecdotes"] if row["round_id"] == 1)
    answers_teams = sorted(row["team"] for row in new["pulse_answers"] if row["round_id"] == 1)
    assert answers_teams == ["Sales", "Sales", "Support"]

    async with open_services(
        make_settings(database_url), clock=clock, prepare=False, engine=engine
    ) as services:
        # Reports: built from the closed week's aggregates and the open week's rows.
        report = await current_trust_report(services)
        weeks = {period.period: period.open for period in report.periods if period.rule}
        assert weeks == {"2026-W47": False, "2026-W48": True}
        # A click on an old prompt of the open week is matched by the new handles.
        result = await record_score(
            services,
            actor=Actor("slack", "U0OLD2"),
            address=PromptAddress("DU0OLD2", "2.0"),
            round_id=OPEN,
            score=4,
            acted_us=10,
        )
        assert result.outcome is ScoreOutcome.APPLIED
        # The Teams reference opens with the new seal.
        from trustbot.teams.references import reference_for_person

        ref = await reference_for_person(services, "aad-1")
        assert ref is not None
        assert ref.conversation_id == "a:1"
        # forget finds U0OLD1's two old stories by their new sealed author.
        gone = await forget_person(services, user_id="U0OLD1", platform="slack")
        assert (gone.answers, gone.stories, gone.deliveries, gone.reactions) == (2, 2, 2, 1)
        left = await dump(engine)
        assert {row["text"] for row in left["anecdotes"]} == {"Open week story"}


async def test_old_data_without_the_key_stops_the_migration_naming_the_variable(
    engine: AsyncEngine,
) -> None:
    try:
        await _write_the_old_way(engine)
        with pytest.raises(MigrationNeedsKeyError, match="TRUSTBOT_PSEUDONYM_KEY"):
            await upgrade(engine)
        assert await current_revision(engine) == "0006"
    finally:
        await upgrade(engine, pseudonym_key=TEST_KEY)
