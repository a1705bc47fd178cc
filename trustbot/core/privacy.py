"""Privacy rules: pseudonyms instead of user ids, escaping of user text, small-group hiding."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.db.models import InstallationSetting
from trustbot.db.upsert import insert_for

KEY_FINGERPRINT = "pseudonym_key_fingerprint"


def pseudonym(user_id: str, *, key: str, platform: str = "slack") -> str:
    """The stable pseudonym of a platform user: HMAC-SHA256 of the id, hex."""
    message = f"{platform}:{user_id}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def escape_mrkdwn(user_text: str) -> str:
    """Escape user text for Slack mrkdwn so <!channel>, <!here> and <@U…> cannot fire."""
    return user_text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def enough_answers(count: int, *, min_group_size: int) -> bool:
    """Whether a figure built from `count` answers may be shown."""
    return count >= min_group_size


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
