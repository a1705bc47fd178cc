"""`Retry-After`, read once for every platform: delta-seconds or an HTTP date (RFC 9110 10.2.3).

Slack sends whole seconds; the Bot Connector (and proxies in front of either) may send a
fraction ("1.5") or a date. The date is parsed by the standard library
(`email.utils.parsedate_to_datetime`, which reads RFC 5322 and the obsolete RFC 850 / asctime
forms HTTP allows). Anything unreadable waits the default second; a wait is never negative and
never longer than an hour (a date far ahead is a clock problem, not a reason to stall the outbox).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from trustbot.core.ports import DeliveryError

DEFAULT_RETRY_AFTER_S = 1.0
MAX_RETRY_AFTER_S = 3600.0


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float:
    """Seconds to wait before the next try, from a `Retry-After` header value."""
    if value is None:
        return DEFAULT_RETRY_AFTER_S
    text = value.strip()
    if not text:
        return DEFAULT_RETRY_AFTER_S
    seconds: float | None
    try:
        seconds = float(text)
    except ValueError:
        seconds = _seconds_until(text, now or datetime.now(UTC))
    if seconds is None or not math.isfinite(seconds):
        return DEFAULT_RETRY_AFTER_S
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _seconds_until(text: str, now: datetime) -> float | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # "-0000": RFC 5322's "no zone given"; HTTP dates are GMT
        moment = moment.replace(tzinfo=UTC)
    return (moment - now).total_seconds()


def rate_limited(retry_after: str | None, *, now: datetime | None = None) -> DeliveryError:
    """The DeliveryError for a 429: the row and the sender wait as the platform asked."""
    return DeliveryError("ratelimited", retry_after=parse_retry_after(retry_after, now=now))
