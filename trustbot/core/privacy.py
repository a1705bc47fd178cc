"""Privacy rules: pseudonyms instead of user ids, sealed addresses, the key's fingerprint.

Everything here is keyed by TRUSTBOT_PSEUDONYM_KEY, which never enters the database:

* a person is a pseudonym, `HMAC(key, "<platform>:<user id>")`;
* where a message must be found again (a click names its channel and ts), the database holds
  `HMAC(key, "message:...")`, which cannot be turned back into the address;
* where an address must be used again (the outbox sends to a user id; a closed round's prompt is
  updated in place), it is sealed: encrypted under a key derived from the pseudonym key, so the
  database alone does not lead to anyone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.db.models import InstallationSetting
from trustbot.db.upsert import insert_for

KEY_FINGERPRINT = "pseudonym_key_fingerprint"


def pseudonym(user_id: str, *, key: str, platform: str = "slack") -> str:
    """The stable pseudonym of a platform user: HMAC-SHA256 of the id, hex."""
    message = f"{platform}:{user_id}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def keyed_hash(purpose: str, value: str, *, key: str) -> str:
    """HMAC-SHA256 of `purpose:value`, hex: a stable handle that does not reveal the value.

    Each purpose gets its own prefix ("message", "settings", ...), so a handle made for one
    purpose never equals one made for another, or a pseudonym.
    """
    return hmac.new(key.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


class SealError(ValueError):
    """A sealed value that this key cannot open (a different key, or damaged data)."""


class AddressSeal:
    """Encrypts the addresses the outbox must use again (Fernet: AES-CBC with an HMAC).

    The encryption key is derived from the pseudonym key with HKDF, so operators keep one secret,
    and a sealed address is useless to anyone who has the database but not the key.
    """

    def __init__(self, key: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"trustbot address seal v1"
        ).derive(key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, address: str) -> str:
        """The address encrypted (a different text every time)."""
        return self._fernet.encrypt(address.encode()).decode()

    def open(self, sealed: str) -> str:
        """The address back; SealError when this key did not seal it."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, UnicodeDecodeError, ValueError):
            raise SealError("a sealed address this key cannot open") from None


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
