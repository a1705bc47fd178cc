"""Send this period's prompts: idempotent per person, resumable after a crash.

The audience is resolved afresh on every run and matched against the deliveries already made,
so running twice sends nothing new, and a run cut short resumes where it stopped. Deliveries
hold the recipient's pseudonym and the message's address, never the raw user id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from trustbot.core.ports import DeliveryError, Notifier, Prompt
from trustbot.core.rounds import open_round, rule_of
from trustbot.core.services import Services
from trustbot.db.models import Delivery, DeliveryStatus
from trustbot.db.upsert import insert_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SendSummary:
    """What one prompt run did."""

    period: str
    rule_position: int
    round_opened: bool
    audience: int
    sent: int
    already_sent: int
    failed: int


async def send_current_prompts(*, services: Services, notifier: Notifier) -> SendSummary:
    """Open the current period's round if needed and prompt everyone not yet prompted."""
    period = services.current_period()
    async with services.sessions() as session, session.begin():
        round_, opened = await open_round(
            session=session, rules=services.rules, period=period, now=services.now()
        )
    prompt = Prompt(
        round_id=round_.id, period=period, rule=rule_of(round_.rule), language=services.language
    )
    audience = await notifier.resolve_audience()
    by_pseudonym = {services.pseudonym(user_id, notifier.platform): user_id for user_id in audience}

    async with services.sessions() as session:
        done = set(
            await session.scalars(
                select(Delivery.recipient).where(
                    Delivery.round_id == round_.id,
                    Delivery.platform == notifier.platform,
                    Delivery.status == DeliveryStatus.SENT,
                )
            )
        )
    sent = failed = 0
    for recipient, user_id in by_pseudonym.items():
        if recipient in done:
            continue
        if await _deliver(
            services=services,
            notifier=notifier,
            prompt=prompt,
            recipient=recipient,
            user_id=user_id,
        ):
            sent += 1
        else:
            failed += 1
    summary = SendSummary(
        period=period,
        rule_position=prompt.rule.position,
        round_opened=opened,
        audience=len(by_pseudonym),
        sent=sent,
        already_sent=len(done & by_pseudonym.keys()),
        failed=failed,
    )
    logger.info("prompts for %s: %s", period, summary)
    return summary


async def _deliver(
    *, services: Services, notifier: Notifier, prompt: Prompt, recipient: str, user_id: str
) -> bool:
    async with services.sessions() as session, session.begin():
        delivery_id = await _claim(
            session=session,
            services=services,
            prompt=prompt,
            platform=notifier.platform,
            recipient=recipient,
        )
    try:
        message = await notifier.send_prompt(user_id, prompt)
    except DeliveryError as error:
        async with services.sessions() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)
                .values(status=DeliveryStatus.FAILED, last_error=error.reason[:200])
            )
        logger.warning("prompt %s not delivered: %s", prompt.period, error.reason)
        return False
    async with services.sessions() as session, session.begin():
        await session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(
                status=DeliveryStatus.SENT,
                channel_id=message.channel_id,
                message_ts=message.message_ts,
                sent_at=services.now(),
                last_error=None,
            )
        )
    return True


async def _claim(
    *, session: AsyncSession, services: Services, prompt: Prompt, platform: str, recipient: str
) -> int:
    """The delivery row for this person, created pending, with one more attempt counted."""
    insert = insert_for(session, Delivery).values(
        round_id=prompt.round_id,
        platform=platform,
        recipient=recipient,
        status=DeliveryStatus.PENDING.value,
        attempts=1,
        created_at=services.now(),
    )
    delivery_id: int | None = await session.scalar(
        insert.on_conflict_do_update(
            index_elements=[Delivery.round_id, Delivery.platform, Delivery.recipient],
            set_={"attempts": Delivery.attempts + 1},
        ).returning(Delivery.id)
    )
    assert delivery_id is not None
    return delivery_id
