"""How listeners reach the core: the Services object travels in bolt's request context."""

from __future__ import annotations

from slack_bolt.context.async_context import AsyncBoltContext

from trustbot.core.services import Services

SERVICES_KEY = "trustbot_services"


def services_of(context: AsyncBoltContext) -> Services:
    """The Services the composition root put into this request's context."""
    services = context[SERVICES_KEY]
    assert isinstance(services, Services)
    return services
