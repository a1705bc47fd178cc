"""Privacy: pseudonyms and mrkdwn escaping."""

from __future__ import annotations

import re

import pytest

from trustbot.core.privacy import (
    KEY_FINGERPRINT,
    PseudonymKeyMismatchError,
    enough_answers,
    escape_mrkdwn,
    key_fingerprint,
    pseudonym,
    verify_pseudonym_key,
)
from trustbot.core.services import Services
from trustbot.db.models import InstallationSetting

KEY = "k" * 40
OTHER_KEY = "q" * 40


def test_pseudonym_is_deterministic_hex() -> None:
    first = pseudonym("U123ABC", key=KEY)
    assert first == pseudonym("U123ABC", key=KEY)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert "U123ABC" not in first
    assert first != "U123ABC"


def test_pseudonym_differs_per_key_user_and_platform() -> None:
    base = pseudonym("U123ABC", key=KEY)
    assert pseudonym("U123ABC", key=OTHER_KEY) != base
    assert pseudonym("U123ABD", key=KEY) != base
    assert pseudonym("U123ABC", key=KEY, platform="teams") != base
    assert pseudonym("U123ABC", key=KEY, platform="slack") == base


def test_pseudonym_known_value() -> None:
    import hashlib
    import hmac

    expected = hmac.new(KEY.encode(), b"slack:U1", hashlib.sha256).hexdigest()
    assert pseudonym("U1", key=KEY) == expected


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here>", "&lt;!here&gt;"),
        ("hi <@U123> there", "hi &lt;@U123&gt; there"),
        ("R&D", "R&amp;D"),
        ("&lt;", "&amp;lt;"),
        ("<!subteam^S1|@team>", "&lt;!subteam^S1|@team&gt;"),
    ],
)
def test_escape_mrkdwn_neutralises_mentions(raw: str, escaped: str) -> None:
    assert escape_mrkdwn(raw) == escaped
    assert "<" not in escape_mrkdwn(raw)
    assert ">" not in escape_mrkdwn(raw)


@pytest.mark.parametrize(
    "plain", ["plain text", "*bold* _it_ `code`", "æøå ÆØÅ 🎉", "line1\nline2", ""]
)
def test_escape_mrkdwn_leaves_other_text_alone(plain: str) -> None:
    assert escape_mrkdwn(plain) == plain


def test_enough_answers_threshold() -> None:
    assert not enough_answers(4, min_group_size=5)
    assert enough_answers(5, min_group_size=5)
    assert enough_answers(6, min_group_size=5)
    assert not enough_answers(0, min_group_size=3)


def test_key_fingerprint_does_not_reveal_the_key() -> None:
    fingerprint = key_fingerprint(KEY)
    assert fingerprint == key_fingerprint(KEY)
    assert fingerprint != key_fingerprint(OTHER_KEY)
    assert len(fingerprint) == 32
    assert KEY not in fingerprint


async def test_verify_pseudonym_key_remembers_the_first_key(services: Services) -> None:
    now = services.now()
    async with services.sessions() as session, session.begin():
        await verify_pseudonym_key(session=session, key=KEY, now=now)
    async with services.sessions() as session, session.begin():
        await verify_pseudonym_key(session=session, key=KEY, now=now)  # same key: fine
    async with services.sessions() as session:
        stored = await session.get(InstallationSetting, KEY_FINGERPRINT)
        assert stored is not None
        assert stored.value == key_fingerprint(KEY)
        assert KEY not in stored.value
    async with services.sessions() as session, session.begin():
        with pytest.raises(PseudonymKeyMismatchError, match="TRUSTBOT_PSEUDONYM_KEY"):
            await verify_pseudonym_key(session=session, key=OTHER_KEY, now=now)
