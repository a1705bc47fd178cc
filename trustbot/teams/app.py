"""The Teams app: Microsoft's SDK mounted on trustbot's FastAPI app, with thin handlers.

Handlers parse the activity, call the same core use cases Slack's listeners call (one answer per
person per round, the later click wins, own prompt only, rounds close), and render with the card
builders. A person is the pseudonym of their Entra object id under the same key.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import jwt
from fastapi import FastAPI
from microsoft_teams.api.activities.conversation.conversation_update import (
    ConversationUpdateActivity,
)
from microsoft_teams.api.activities.install_update import InstallUpdateActivity
from microsoft_teams.api.activities.invoke.adaptive_card.action import AdaptiveCardInvokeActivity
from microsoft_teams.api.activities.message.message import MessageActivity, MessageActivityInput
from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides
from microsoft_teams.api.models.attachment.attachment import Attachment
from microsoft_teams.apps import App
from microsoft_teams.apps.routing.activity_context import ActivityContext
from sqlalchemy.exc import SQLAlchemyError

from trustbot.core.anecdotes import StoryOutcome, StoryProblem, parse_visibility, record_story
from trustbot.core.catalogue import Language, text
from trustbot.core.people import language_of, set_paused
from trustbot.core.ports import Prompt
from trustbot.core.prompts import (
    Actor,
    PromptAddress,
    PromptState,
    ScoreOutcome,
    prompt_state,
    record_score,
)
from trustbot.core.pulse import MAX_SCORE, MIN_SCORE
from trustbot.core.reports import (
    DEFAULT_WEEKS,
    MAX_WEEKS,
    ReportArgumentError,
    current_trust_report,
    parse_report_arguments,
)
from trustbot.core.services import Services
from trustbot.db.errors import describe_database_error
from trustbot.render.report import compose_report
from trustbot.teams.cards import (
    SCORE_VERB,
    STORY_INPUT,
    STORY_VERB,
    VISIBILITY_INPUT,
    Card,
    invoke_card_response,
    invoke_message_response,
    render_prompt_card,
    render_report_card,
    render_text_card,
)
from trustbot.teams.front_door import TeamsFrontDoor
from trustbot.teams.notifier import PLATFORM
from trustbot.teams.references import ConversationRef, mark_unreachable, remember

logger = logging.getLogger(__name__)

TokenProvider = Any  # (scope, tenant_id) -> str | Awaitable[str]: the SDK's own type
LOCAL_APP_ID = "trustbot-local"
# Signs the placeholder token of local mode; nothing checks it (32 bytes: jwt warns below that).
LOCAL_SIGNING_KEY = "trustbot-local-mode-placeholder-key"
_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE)


def create_teams_app(
    services: Services, web: FastAPI, *, token_provider: TokenProvider | None = None
) -> App:
    """The SDK app, mounted at POST /api/messages on `web` once `initialize()` has run.

    Credentials come from Settings only. In local mode (TRUSTBOT_TEAMS_LOCAL, for Microsoft's
    Agents Playground) requests are not authenticated and there are no credentials: a
    placeholder token goes out, so no real token can be sent anywhere. `token_provider` lets
    tests and the demo stand in for Microsoft Entra.
    """
    settings = services.settings
    cloud = with_overrides(
        PUBLIC,
        openid_metadata_url=settings.teams_openid_url,
        login_endpoint=settings.teams_login_url.rstrip("/"),
    )
    common: dict[str, Any] = {
        "http_server_adapter": TeamsFrontDoor(web),
        "cloud": cloud,
        "service_url": settings.teams_service_url,
    }
    if settings.teams_local:
        app = App(
            client_id=LOCAL_APP_ID,
            token=token_provider or _placeholder_token,
            dangerously_allow_unauthenticated_requests=True,
            **common,
        )
    elif token_provider is not None:
        app = App(
            client_id=settings.teams_client_id,
            tenant_id=settings.teams_tenant_id,
            token=token_provider,
            dangerously_allow_unauthenticated_requests=False,
            **common,
        )
    else:
        assert settings.teams_client_secret is not None
        app = App(
            client_id=settings.teams_client_id,
            client_secret=settings.teams_client_secret.get_secret_value(),
            tenant_id=settings.teams_tenant_id,
            dangerously_allow_unauthenticated_requests=False,
            **common,
        )
    handlers = TeamsHandlers(services)
    app.on_conversation_update(handlers.on_conversation_update)
    app.on_installation_update(handlers.on_installation_update)
    app.on_message(handlers.on_message)
    app.on_card_action(handlers.on_card_action)
    return app


@dataclass(frozen=True, slots=True)
class Transient:
    """A reply Teams shows the person for a moment and keeps nowhere in the chat: the answer to
    a story, so that the chat history never says whether or how a story was shared."""

    text: str
    saved: bool  # the story is stored (or was already): nothing for the person to redo


Reply = Card | Transient


def _placeholder_token(scope: str | list[str], tenant_id: str | None = None) -> str:
    """A JWT-shaped token that authorises nothing (the SDK parses what it sends)."""
    del scope, tenant_id
    return jwt.encode({"aud": LOCAL_APP_ID, "local": True}, LOCAL_SIGNING_KEY, algorithm="HS256")


def _reference(activity: Any, *, personal: bool) -> ConversationRef:
    conversation = activity.conversation
    user = activity.from_.aad_object_id if personal and activity.from_ else None
    return ConversationRef(
        conversation_id=str(conversation.id),
        service_url=str(activity.service_url or ""),
        tenant_id=getattr(conversation, "tenant_id", None),
        user_id=user.lower() if user else None,
    )


def _is_personal(activity: Any) -> bool:
    return getattr(activity.conversation, "conversation_type", None) in (None, "personal")


def _actor(activity: Any) -> Actor | None:
    aad = activity.from_.aad_object_id if activity.from_ else None
    return Actor(PLATFORM, aad.lower()) if aad else None


def _acted_us(activity: Any) -> int:
    """When the person acted: Teams stamps the activity; now if it did not."""
    moment: datetime = activity.timestamp or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


class TeamsHandlers:
    """Installations, messages (the report, pausing, the Action.Submit fallback) and card
    actions (score, story)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def on_conversation_update(
        self, ctx: ActivityContext[ConversationUpdateActivity]
    ) -> None:
        """The app was added to a chat or team: remember where to reach it."""
        activity = ctx.activity
        bot_id = activity.recipient.id if activity.recipient else None
        added = [member.id for member in activity.members_added or []]
        if bot_id in added or not added:
            await self._remember(activity)

    async def on_installation_update(self, ctx: ActivityContext[InstallUpdateActivity]) -> None:
        """Installed: remember the conversation; uninstalled: stop prompting the person."""
        activity = ctx.activity
        if activity.action == "remove":
            actor = _actor(activity)
            if actor is not None and _is_personal(activity):
                await mark_unreachable(self._services, actor.user_id)
            return
        await self._remember(activity)

    async def _remember(self, activity: Any) -> None:
        try:
            await remember(self._services, _reference(activity, personal=_is_personal(activity)))
        except SQLAlchemyError as error:
            logger.error("could not store a Teams conversation: %s", describe_database_error(error))

    async def on_message(self, ctx: ActivityContext[MessageActivity]) -> None:
        """`trust-report ...`, `trust-prompts pause|resume`, or an Action.Submit fallback."""
        activity = ctx.activity
        actor = _actor(activity)
        if actor is None:
            return
        await self._remember(activity)  # first messaged counts like an installation
        language = await language_of(self._services, actor=actor)
        if isinstance(activity.value, dict) and activity.value.get("trustbot"):
            reply = await self._card_action(activity, dict(activity.value), actor, language)
            await ctx.send(
                _card_message(await self._fallback_card(activity, actor, reply, language))
            )
            return
        words = _MENTION.sub("", activity.text or "").strip().split()
        command, arguments = (words[0].lower(), " ".join(words[1:])) if words else ("", "")
        if command in ("trust-report", "/trust-report", "report"):
            await self._report(ctx, actor, arguments, language)
        elif command in ("trust-prompts", "/trust-prompts"):
            await self._pause(ctx, actor, arguments, language)
        else:
            await ctx.send(_card_message(render_text_card(text("teams.help", language))))

    async def _report(
        self,
        ctx: ActivityContext[MessageActivity],
        actor: Actor,
        arguments: str,
        language: Language,
    ) -> None:
        services = self._services
        settings = services.settings
        if actor.user_id not in settings.teams_report_viewers:
            await ctx.send(_card_message(render_text_card(text("report.refused", language))))
            return
        if not _is_personal(ctx.activity):
            await ctx.send(_card_message(render_text_card(text("teams.report_private", language))))
            return
        try:
            request = parse_report_arguments(
                arguments, teams=tuple(settings.teams), rules=len(services.rules)
            )
        except ReportArgumentError:
            usage = text("report.usage", language, max=MAX_WEEKS, default=DEFAULT_WEEKS)
            await ctx.send(
                _card_message(render_text_card(usage.replace("/trust-report", "trust-report")))
            )
            return
        try:
            report = await current_trust_report(services, request)
        except SQLAlchemyError as error:
            logger.error("could not build the trust report: %s", describe_database_error(error))
            await ctx.send(_card_message(render_text_card(text("report.failed", language))))
            return
        parts = compose_report(report, language=language, timezone=settings.timezone)
        await ctx.send(_card_message(await render_report_card(parts, report, language)))

    async def _pause(
        self, ctx: ActivityContext[MessageActivity], actor: Actor, word: str, language: Language
    ) -> None:
        word = word.strip().lower()
        try:
            if word in ("pause", "resume"):
                await set_paused(self._services, actor=actor, paused=word == "pause")
                answer = text("pause.done" if word == "pause" else "pause.resumed", language)
            else:
                answer = text("teams.help", language)
        except SQLAlchemyError as error:
            logger.error("could not change prompt settings: %s", describe_database_error(error))
            answer = text("pause.failed", language)
        await ctx.send(
            _card_message(render_text_card(answer.replace("/trust-prompts", "trust-prompts")))
        )

    async def on_card_action(self, ctx: ActivityContext[AdaptiveCardInvokeActivity]) -> Any:
        """Action.Execute: store, then answer with the refreshed card (or why nothing changed)."""
        activity = ctx.activity
        actor = _actor(activity)
        if actor is None:
            return invoke_message_response("unknown user")
        language = await language_of(self._services, actor=actor)
        action = activity.value.action
        data = {"trustbot": action.verb, **dict(action.data)}
        reply = await self._card_action(activity, data, actor, language)
        if isinstance(reply, Transient):  # the card stays as it was: it says nothing of a story
            return cast(Any, invoke_message_response(reply.text))
        return cast(Any, invoke_card_response(reply))

    async def _fallback_card(
        self, activity: Any, actor: Actor, reply: Reply, language: Language
    ) -> Card:
        """What an Action.Submit (a client without Action.Execute) gets as a new message, which
        stays in the chat: after a stored story, the prompt as it stands, as after a score
        click, never what became of the story; a story that was not stored says why."""
        if not isinstance(reply, Transient):
            return reply
        round_id = activity.value.get("round")  # an int: _card_action checked it
        if not reply.saved or not isinstance(round_id, int):
            return render_text_card(reply.text)
        address = PromptAddress(str(activity.conversation.id), str(activity.reply_to_id or ""))
        return await self._prompt_card(actor, address, round_id, language, note=None)

    async def _card_action(
        self, activity: Any, data: dict[str, Any], actor: Actor, language: Language
    ) -> Reply:
        """What a score or story click does: for a score, the card that shows the person where
        they stand; for a story, a transient answer."""
        address = PromptAddress(str(activity.conversation.id), str(activity.reply_to_id or ""))
        round_id = data.get("round")
        if not isinstance(round_id, int) or isinstance(round_id, bool):
            return render_text_card(text("error.bad_action", language))
        try:
            if data.get("trustbot") == SCORE_VERB:
                return await self._score(activity, data, actor, address, round_id, language)
            if data.get("trustbot") == STORY_VERB:
                return await self._story(data, actor, round_id, language, activity)
        except SQLAlchemyError as error:
            logger.error("could not store a Teams action: %s", describe_database_error(error))
            if data.get("trustbot") == STORY_VERB:
                return Transient(text("story.error.save_failed", language), saved=False)
            return await self._prompt_card(
                actor, address, round_id, language, note=text("error.save_failed", language)
            )
        return render_text_card(text("error.bad_action", language))

    async def _score(
        self,
        activity: Any,
        data: dict[str, Any],
        actor: Actor,
        address: PromptAddress,
        round_id: int,
        language: Language,
    ) -> Card:
        score = data.get("score")
        if not isinstance(score, int) or not MIN_SCORE <= score <= MAX_SCORE:
            return render_text_card(text("error.bad_action", language))
        result = await record_score(
            self._services,
            actor=actor,
            address=address,
            round_id=round_id,
            score=score,
            acted_us=_acted_us(activity),
        )
        if result.outcome is ScoreOutcome.REFUSED:
            logger.warning(
                "refused a Teams score click for round %s: not this person's prompt", round_id
            )
            return render_text_card(text("error.unknown_round", language))
        note = (
            text("error.round_closed", language) if result.outcome is ScoreOutcome.CLOSED else None
        )
        return await self._prompt_card(actor, address, round_id, language, note=note)

    async def _story(
        self,
        data: dict[str, Any],
        actor: Actor,
        round_id: int,
        language: Language,
        activity: Any,
    ) -> Transient:
        visibility = parse_visibility(str(data.get(VISIBILITY_INPUT) or ""))
        try:
            outcome = await record_story(
                self._services,
                actor=actor,
                round_id=round_id,
                visibility=visibility,
                text=str(data.get(STORY_INPUT) or ""),
                source_id=f"teams:{activity.id}" if activity.id else None,
                author_name=activity.from_.name if activity.from_ else None,
            )
        except StoryProblem as problem:
            return Transient(text(problem.key, language, **problem.values), saved=False)
        notes = {
            StoryOutcome.SAVED: f"story.saved.{visibility.value}",
            StoryOutcome.DUPLICATE: f"story.saved.{visibility.value}",
            StoryOutcome.CLOSED: "story.error.round_closed",
            StoryOutcome.NO_PROMPT: "story.error.round_gone",
        }
        saved = outcome in (StoryOutcome.SAVED, StoryOutcome.DUPLICATE)
        return Transient(text(notes[outcome], language), saved=saved)

    async def _prompt_card(
        self,
        actor: Actor,
        address: PromptAddress,
        round_id: int,
        language: Language,
        *,
        note: str | None,
    ) -> Card:
        """The prompt as it stands now, read back from the database (answered, closed)."""
        state: PromptState | None = await prompt_state(
            self._services, actor=actor, address=address, round_id=round_id
        )
        if state is None:
            return render_text_card(note or text("error.unknown_round", language))
        prompt = Prompt(state.round_id, state.period, state.rule, language)
        return render_prompt_card(
            prompt, answered=state.score is not None, closed=not state.open, note=note
        )


def _card_message(card: Card) -> MessageActivityInput:
    return MessageActivityInput().add_attachments(
        Attachment(content_type="application/vnd.microsoft.card.adaptive", content=card)
    )
