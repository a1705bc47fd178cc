"""What the CLI commands do, as async functions over Settings."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn

from trustbot.app import Runtime, build_runtime, build_services, prepare_database
from trustbot.config import Settings
from trustbot.core.reports import current_trust_report
from trustbot.db.session import create_engine
from trustbot.delivery.sender import SendSummary, send_current_prompts
from trustbot.devtools.render import render_blocks_as_text
from trustbot.logsetup import configure_logging
from trustbot.slack.blocks.report import render_trust_report_blocks

logger = logging.getLogger(__name__)
# What stops `serve --socket-mode` cleanly, as uvicorn stops `serve` (Ctrl-C, docker stop...).
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def _start(settings: Settings) -> Runtime:
    configure_logging(settings)
    runtime = build_runtime(settings)
    try:
        await prepare_database(runtime.engine, runtime.services)
        await runtime.start()
    except BaseException:
        await runtime.aclose()
        raise
    return runtime


async def serve_http(settings: Settings) -> None:
    """Serve Slack's request URL and the health checks until stopped."""
    runtime = await _start(settings)
    config = uvicorn.Config(
        runtime.web_app(),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,
        proxy_headers=True,
    )
    logger.info("trustbot listening on http://%s:%s/slack/events", settings.host, settings.port)
    try:
        await uvicorn.Server(config).serve()
    finally:
        await runtime.aclose()


async def serve_socket_mode(settings: Settings) -> None:
    """Connect to Slack over Socket Mode instead of a public request URL; SIGTERM/SIGINT stop."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    runtime = await _start(settings)
    try:
        assert settings.slack_app_token is not None
        handler = AsyncSocketModeHandler(
            runtime.slack_app(socket_mode=True), settings.slack_app_token.get_secret_value()
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in _STOP_SIGNALS:
            loop.add_signal_handler(signum, stop.set)
        try:
            # Ask for the WebSocket URL up front: a refused app token (or an unreachable
            # SLACK_API_URL) then ends the command with one line, where the client's connect()
            # would log a traceback and retry forever.
            handler.client.wss_uri = await handler.client.issue_new_wss_url()
            await handler.connect_async()  # type: ignore[no-untyped-call]
            logger.info("trustbot connected to Slack over Socket Mode")
            await stop.wait()
            logger.info("trustbot disconnecting from Slack")
        finally:
            for signum in _STOP_SIGNALS:
                loop.remove_signal_handler(signum)
            await handler.close_async()  # type: ignore[no-untyped-call]
    finally:
        await runtime.aclose()


async def prompt_now(settings: Settings) -> str:
    """Open this period's round and prompt everyone not yet prompted; a summary line."""
    runtime = await _start(settings)
    try:
        summary = await send_current_prompts(services=runtime.services, notifier=runtime.notifier)
    finally:
        await runtime.aclose()
    return describe_summary(summary)


def describe_summary(summary: SendSummary) -> str:
    """A one-line account of a prompt run."""
    head = f"{summary.period}, rule {summary.rule_position}: "
    if summary.sent == 0 and summary.failed == 0:
        return head + (
            f"nothing new to send; {summary.already_sent} of {summary.audience} people "
            "already have this week's prompt."
        )
    line = f"sent {summary.sent} prompts ({summary.already_sent} already had it"
    if summary.failed:
        line += f", {summary.failed} failed and will be retried on the next run"
    return head + line + ")."


async def report_text(settings: Settings, weeks: int) -> str:
    """The trust report rendered for a terminal."""
    engine = create_engine(settings.database_url)
    try:
        services = build_services(settings, engine)
        await prepare_database(engine, services)
        report = await current_trust_report(services, weeks)
    finally:
        await engine.dispose()
    blocks = render_trust_report_blocks(
        report, language=settings.language, timezone=settings.timezone
    )
    return render_blocks_as_text(blocks)
