"""Privacy rules: pseudonyms instead of user ids, handles per table, seals, the key's fingerprint.

Everything here is keyed by TRUSTBOT_PSEUDONYM_KEY, which never enters the database:

* a person is a pseudonym, `P = HMAC(key, "<platform>:<user id>")`, which no table stores;
* each table holds its own handle made from P for one purpose and one round,
  `HMAC(key, "<purpose>:<P>:<round id>")` (answers, deliveries, reactions): equal values join
  rows of one table and one round only, never an answer to its delivery or to another week;
* where a message must be found again (a click names its channel and ts), the database holds
  `HMAC(key, "message:...")`, which cannot be turned back into the address;
* where a value must be used again (the outbox sends to a user id; a story's author must be
  found at `trustbot forget`), it is sealed: AES-GCM under a key derived from the pseudonym key,
  with a random nonce, so equal values never look equal and no sealed value carries a time.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import secrets
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.db.models import InstallationSetting
from trustbot.db.upsert import insert_for

KEY_FINGERPRINT = "pseudonym_key_fingerprint"
# The HKDF info strings of the two seals: one key each, both derived from the pseudonym key.
ADDRESS_SEAL_INFO = b"trustbot address seal v2 (aes-gcm)"
AUTHOR_SEAL_INFO = b"trustbot story author seal v1 (aes-gcm)"
NONCE_BYTES = 12  # AES-GCM's 96-bit nonce, random for every value sealed


def pseudonym(user_id: str, *, key: str, platform: str) -> str:
    """The stable pseudonym of a platform user: HMAC-SHA256 of `platform:user id`, hex.

    Never stored: it is what every per-table handle is made from.
    """
    return _hmac_hex(key, f"{platform}:{user_id}")


def keyed_hash(purpose: str, value: str, *, key: str) -> str:
    """HMAC-SHA256 of `purpose:value`, hex: a stable handle that does not reveal the value.

    Each purpose gets its own prefix ("message", "settings", "answer", ...), so a handle made
    for one purpose never equals one made for another, or a pseudonym.
    """
    return _hmac_hex(key, f"{purpose}:{value}")


@functools.lru_cache(maxsize=4)
def _keyed(key: str) -> hmac.HMAC:
    """HMAC-SHA256 keyed with `key`, ready to copy: a click computes four handles, and copying
    a keyed HMAC skips deriving the key's pads each time (half the cost of `hmac.new`)."""
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def _hmac_hex(key: str, message: str) -> str:
    mac = _keyed(key).copy()
    mac.update(message.encode())
    return mac.hexdigest()


def round_handle(purpose: str, person: str, round_id: int, *, key: str) -> str:
    """A person's handle in one table for one round: `HMAC(key, "<purpose>:<P>:<round id>")`."""
    return keyed_hash(purpose, f"{person}:{round_id}", key=key)


def random_id() -> int:
    """A row id that says nothing about when the row was written: 63 random bits."""
    return secrets.randbits(63) or 1


def day_of(moment: datetime) -> datetime:
    """The day of `moment` (midnight, same zone): enough for anything kept about a person's
    settings, and no order among the people who changed theirs that day."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


class SealError(ValueError):
    """A sealed value that this key cannot open (a different key, or damaged data)."""


class Seal:
    """AES-GCM with a random 96-bit nonce, under a key derived from the pseudonym key by HKDF.

    A sealed value is `base64url(nonce || ciphertext || tag)`: no timestamp, no version byte
    that differs between values, the same length for values of the same length, and a
    different text every time. Fernet, used before, put the time of sealing in every token
    in the clear, which ordered rows (decision 35).
    """

    def __init__(self, key: str, *, info: bytes) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
            key.encode()
        )
        self._aead = AESGCM(derived)

    def seal(self, value: str) -> str:
        """The value encrypted (a different text every time)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, value.encode(), None)
        return base64.urlsafe_b64encode(sealed).decode()

    def open(self, sealed: str) -> str:
        """The value back; SealError when this key did not seal it."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
            if len(raw) <= NONCE_BYTES:
                raise SealError("a sealed value too short to open")
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None).decode()
        except (InvalidTag, UnicodeDecodeError, ValueError, binascii.Error):
            raise SealError("a sealed value this key cannot open") from None


class AddressSeal(Seal):
    """Seals the addresses the outbox must use again (user ids, channels, Teams references)."""

    def __init__(self, key: str) -> None:
        super().__init__(key, info=ADDRESS_SEAL_INFO)


class AuthorSeal(Seal):
    """Seals a story's author (their pseudonym), for `trustbot forget` alone to find again."""

    def __init__(self, key: str) -> None:
        super().__init__(key, info=AUTHOR_SEAL_INFO)


class Keys:
    """Everything made from TRUSTBOT_PSEUDONYM_KEY: pseudonyms, each table's handles, seals."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.seal = AddressSeal(key)
        self.author_seal = AuthorSeal(key)

    def pseudonym(self, user_id: str, platform: str) -> str:
        """A person's pseudonym: what every per-table handle is made from; never stored."""
        return pseudonym(user_id, key=self.key, platform=platform)

    def delivery_handle(self, person: str, round_id: int) -> str:
        """Who a round's prompt and reminders went to (`person` is a pseudonym): equal on one
        round's deliveries to one person, and on nothing else."""
        return round_handle("delivery", person, round_id, key=self.key)

    def answer_handle(self, person: str, round_id: int) -> str:
        """Who gave an answer: a different value in every round, and never a delivery's."""
        return round_handle("answer", person, round_id, key=self.key)

    def reaction_handle(self, person: str, round_id: int) -> str:
        """Who reacted to a round's prompt: its own value, joinable to no answer or delivery."""
        return round_handle("reaction", person, round_id, key=self.key)

    def message_key(self, platform: str, conversation_id: str, message_id: str) -> str:
        """The handle a delivered message is found by again, without storing its address."""
        return keyed_hash("message", f"{platform}:{conversation_id}:{message_id}", key=self.key)

    def settings_subject(self, user_id: str, platform: str) -> str:
        """The key of a person's own settings: a different handle from any other."""
        return keyed_hash("settings", f"{platform}:{user_id}", key=self.key)

    def teams_person_key(self, aad_id: str) -> str:
        """The key of a Teams person's stored personal conversation (teams/references.py)."""
        return keyed_hash("teams-person", aad_id.lower(), key=self.key)


class PseudonymKeyMismatchError(Exception):
    """TRUSTBOT_PSEUDONYM_KEY is not the key this database's pseudonyms were made with."""


def key_fingerprint(key: str) -> str:
    """A value that identifies the key without revealing it."""
    return hmac.new(key.encode(), b"trustbot key fingerprint", hashlib.sha256).hexdigest()[:32]


async def verify_pseudonym_key(*, session: AsyncSession, key: str, now: datetime) -> None:
    """Remember the key's fingerprint on first use; refuse a different key afterwards.

    A changed key would silently split every person into two pseudonyms, so old answers
    could no longer be replaced and participation would be counted twice.
    """
    fingerprint = key_fingerprint(key)
    await session.execute(
        insert_for(session, InstallationSetting)
        .values(name=KEY_FINGERPRINT, value=fingerprint, created_at=now)
        .on_conflict_do_nothing(index_elements=[InstallationSetting.name])
    )
    stored = await session.get(InstallationSetting, KEY_FINGERPRINT)
    if stored is not None and stored.value != fingerprint:
        raise PseudonymKeyMismatchError(
            "TRUSTBOT_PSEUDONYM_KEY: is not the key this database was created with; "
            "restore the original key (a new key would split everyone's answers in two)"
        )
