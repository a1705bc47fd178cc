"""Privacy rules: pseudonyms instead of user ids, escaping of user text, small-group hiding."""

from __future__ import annotations

import hashlib
import hmac


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
