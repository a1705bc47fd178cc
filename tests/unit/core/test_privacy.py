"""Privacy: pseudonyms, keyed hashes, sealed addresses and the key fingerprint."""

from __future__ import annotations

import re

import pytest

from trustbot.core.privacy import (
    KEY_FINGERPRINT,
    AddressSeal,
    PseudonymKeyMismatchError,
    SealError,
    key_fingerprint,
    keyed_hash,
    pseudonym,
    verify_pseudonym_key,
)
from trustbot.core.services import Services
from trustbot.db.models import InstallationSetting

KEY = "k" * 40
OTHER_KEY = "q" * 40


def test_pseudonym_is_deterministic_hex() -> None:
    first = pseudonym("U123ABC", key=KEY, platform="slack")
    assert first == pseudonym("U123ABC", key=KEY, platform="slack")
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert "U123ABC" not in first
    assert first != "U123ABC"


def test_pseudonym_differs_per_key_user_and_platform() -> None:
    base = pseudonym("U123ABC", key=KEY, platform="slack")
    assert pseudonym("U123ABC", key=OTHER_KEY, platform="slack") != base
    assert pseudonym("U123ABD", key=KEY, platform="slack") != base
    assert pseudonym("U123ABC", key=KEY, platform="teams") != base
    assert pseudonym("U123ABC", key=KEY, platform="slack") == base


def test_pseudonym_known_value() -> None:
    import hashlib
    import hmac

    expected = hmac.new(KEY.encode(), b"slack:U1", hashlib.sha256).hexdigest()
    assert pseudonym("U1", key=KEY, platform="slack") == expected


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


def test_keyed_hashes_differ_by_purpose_and_from_the_pseudonym() -> None:
    handles = {
        keyed_hash("message", "slack:D1:1.0", key=KEY),
        keyed_hash("settings", "slack:D1:1.0", key=KEY),
        keyed_hash("message", "slack:D1:1.0", key=OTHER_KEY),
        pseudonym("D1", key=KEY, platform="slack"),
    }
    assert len(handles) == 4
    assert keyed_hash("message", "slack:D1:1.0", key=KEY) == keyed_hash(
        "message", "slack:D1:1.0", key=KEY
    )


def test_a_sealed_address_opens_only_with_its_key() -> None:
    sealed = AddressSeal(KEY).seal("U0ALICE")

    assert "U0ALICE" not in sealed
    assert AddressSeal(KEY).seal("U0ALICE") != sealed  # a new text every time: nothing to match
    assert AddressSeal(KEY).open(sealed) == "U0ALICE"
    with pytest.raises(SealError):
        AddressSeal(OTHER_KEY).open(sealed)
    with pytest.raises(SealError):
        AddressSeal(KEY).open("not a sealed value")


def test_a_sealed_value_carries_no_time_and_no_equal_text() -> None:
    """AES-GCM with a random nonce: two seals of one value share no prefix a reader could
    sort by (a Fernet token starts with its version byte and the time it was made)."""
    import base64

    seals = [AddressSeal(KEY).seal("U0ALICE") for _ in range(50)]
    raw = [base64.urlsafe_b64decode(sealed) for sealed in seals]
    assert len({value[:8] for value in raw}) == 50  # random nonces, no shared time prefix
    assert {len(value) for value in raw} == {12 + len("U0ALICE") + 16}
    # The same check finds the time in Fernet tokens (the seal before migration 0007).
    from trustbot.core.legacy import FernetSeal

    tokens = [base64.urlsafe_b64decode(FernetSeal(KEY).seal("U0ALICE")) for _ in range(50)]
    assert len({value[:8] for value in tokens}) < 50  # version byte + seconds: shared


def test_the_author_seal_is_not_the_address_seal() -> None:
    from trustbot.core.privacy import AuthorSeal

    sealed = AuthorSeal(KEY).seal("p" * 64)
    assert AuthorSeal(KEY).open(sealed) == "p" * 64
    with pytest.raises(SealError):
        AddressSeal(KEY).open(sealed)  # a key of its own (HKDF info)


def test_round_handles_differ_by_purpose_and_round() -> None:
    from trustbot.core.privacy import round_handle

    person = pseudonym("U1", key=KEY, platform="slack")
    handles = {
        round_handle(purpose, person, round_id, key=KEY)
        for purpose in ("answer", "delivery", "reaction")
        for round_id in (1, 2)
    }
    assert len(handles) == 6
    assert person not in handles


async def test_prompt_rows_do_not_keep_the_audiences_order(services: Services) -> None:
    """Row order in member-list order would map each handle to a person for anyone holding
    that list; ids are random and the rows are written in delivery-handle order instead
    (keyed: no order a list gives)."""
    from sqlalchemy import select

    from trustbot.db.models import Delivery
    from trustbot.delivery.outbox import Recipient, enqueue_prompts

    people = [f"U0ORDER{index:03d}" for index in range(60)]
    now = services.now()
    enqueued = await enqueue_prompts(
        services,
        period=services.current_period(),
        recipients=[Recipient("slack", person, now) for person in people],
    )
    assert enqueued is not None

    async with services.sessions() as session:
        stored = list((await session.scalars(select(Delivery.recipient))).all())
        by_id = list(
            (await session.scalars(select(Delivery.recipient).order_by(Delivery.id))).all()
        )
    in_audience_order = [
        services.keys.delivery_handle(services.keys.pseudonym(person, "slack"), enqueued.round_id)
        for person in people
    ]
    assert sorted(stored) == sorted(in_audience_order)
    assert stored != in_audience_order  # the keyed hash's order is not the list's
    assert by_id != in_audience_order
