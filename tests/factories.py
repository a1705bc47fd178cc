"""Rows the tests need, built the way the product stores them."""

from __future__ import annotations

from trustbot.core.services import Services
from trustbot.db.models import Delivery, DeliveryKind, DeliveryStatus, Round


def sent_prompt(
    services: Services,
    round_: Round,
    *,
    user_id: str,
    channel: str,
    ts: str,
    platform: str = "slack",
) -> Delivery:
    """The delivery of `round_`'s prompt to `user_id`, sent as message `ts` in `channel`."""
    now = services.now()
    return Delivery(
        kind=DeliveryKind.PROMPT,
        period=round_.period,
        round_id=round_.id,
        platform=platform,
        recipient=services.pseudonym(user_id, platform),
        seq=0,
        status=DeliveryStatus.SENT,
        address=services.seal.seal(user_id),
        message_key=services.message_key(platform, channel, ts),
        message_ref=services.seal.seal(f"{channel} {ts}"),
        attempts=1,
        created_at=now,
        sent_at=now,
    )
