"""Rounds: one per period, rules rotating in order, rule versions kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from trustbot.core.periods import recent_periods
from trustbot.core.rounds import find_round, get_round, open_round, rule_of
from trustbot.core.rules import CALL_ME_WAY, Rule
from trustbot.core.services import Services
from trustbot.db.models import Round, RuleRow


async def _open(
    services: Services, period: str, rules: tuple[Rule, ...] = CALL_ME_WAY
) -> tuple[int, str, Rule, bool]:
    async with services.sessions() as session, session.begin():
        round_, opened = await open_round(
            session=session, rules=rules, period=period, now=services.now()
        )
        return round_.id, round_.period, rule_of(round_.rule), opened


async def _count(services: Services, model: type) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_open_round_is_idempotent_per_period(services: Services) -> None:
    first = await _open(services, "2026-W48")
    again = await _open(services, "2026-W48")
    assert first[3] is True
    assert again[3] is False
    assert again[:3] == first[:3]
    assert first[2] == CALL_ME_WAY[0]
    assert await _count(services, Round) == 1
    assert await _count(services, RuleRow) == 1
    async with services.sessions() as session:
        found = await find_round(session=session, period="2026-W48")
        assert found is not None
        assert found.id == first[0]
        assert await find_round(session=session, period="2026-W47") is None
        by_id = await get_round(session=session, round_id=first[0])
        assert by_id is not None
        assert by_id.period == "2026-W48"
        assert await get_round(session=session, round_id=first[0] + 1000) is None


async def test_rules_rotate_in_order_across_a_year_end(services: Services) -> None:
    periods = recent_periods("2027-W03", 11)  # 2026-W45 … 2027-W03, through 2026-W53
    positions = [(await _open(services, period))[2].position for period in periods]
    assert positions == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1]
    assert await _count(services, Round) == 11
    assert await _count(services, RuleRow) == 5


async def test_rounds_remember_when_they_opened(services: Services) -> None:
    async with services.sessions() as session, session.begin():
        round_, _ = await open_round(
            session=session, rules=CALL_ME_WAY, period="2026-W48", now=services.now()
        )
    async with services.sessions() as session:
        stored = await session.get(Round, round_.id)
        assert stored is not None
        assert stored.opened_at == services.now()
        assert stored.opened_at.utcoffset() == timedelta(0)


async def test_changed_rule_text_gets_a_new_row(services: Services) -> None:
    w1 = await _open(services, "2026-W40")
    assert w1[2] == CALL_ME_WAY[0]
    changed = (
        Rule(1, "Ny tekst til regel et.", "New text for rule one."),
        *CALL_ME_WAY[1:],
    )
    # Five more weeks bring the rotation back to position 1, now with the changed text.
    opened = [await _open(services, period, changed) for period in recent_periods("2026-W45", 5)]
    assert [item[2].position for item in opened] == [2, 3, 4, 5, 1]
    assert opened[-1][2] == changed[0]
    assert await _count(services, RuleRow) == 6
    async with services.sessions() as session:
        old = await get_round(session=session, round_id=w1[0])
        new = await get_round(session=session, round_id=opened[-1][0])
        assert old is not None
        assert new is not None
        assert old.rule_id != new.rule_id
        assert rule_of(old.rule) == CALL_ME_WAY[0]
        assert rule_of(new.rule) == changed[0]
        rows = (await session.scalars(select(RuleRow).where(RuleRow.position == 1))).all()
        assert sorted(row.text_en for row in rows) == sorted(
            [CALL_ME_WAY[0].en, "New text for rule one."]
        )


async def test_unchanged_rule_reuses_its_row(services: Services) -> None:
    first = await _open(services, "2026-W40")
    sixth = [await _open(services, period) for period in recent_periods("2026-W45", 5)][-1]
    assert sixth[2] == first[2]
    async with services.sessions() as session:
        a = await get_round(session=session, round_id=first[0])
        b = await get_round(session=session, round_id=sixth[0])
        assert a is not None
        assert b is not None
        assert a.rule_id == b.rule_id
