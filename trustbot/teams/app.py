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
from microsoft_teams.api.activities.message.message_reaction import MessageReactionActivity
from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides
from microsoft_teams.api.models.attachment.attachment import Attachment
from microsoft_teams.apps import App
from microsoft_teams.apps.routing.activity_context import ActivityContext

from trustbot.core.catalogue import Language
from trustbot.core.interactions import (
    FAILED,
    Commands,
    Reply,
    attempt,
    parse_round_id,
    prompts_command,
    react,
    request_report,
    score_click,
    share_story,
)
from trustbot.core.people import language_of
from trustbot.core.ports import Prompt
from trustbot.core.prompts import Actor, PromptAddress, PromptState, prompt_state
from trustbot.core.services import Services
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
from trustbot.teams.charts import card_chart
from trustbot.teams.front_door import REFRESH_VERB, TeamsFrontDoor
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
        "http_server_adapter": TeamsFrontDoor(
            web, tenant_id=None if settings.teams_local else settings.teams_tenant_id
        ),
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
    app.on_message_reaction(handlers.on_message_reaction)
    return app


@dataclass(frozen=True, slots=True)
class Transient:
    """A reply Teams shows the person for a moment and keeps nowhere in the chat: the answer to
    a story, so that the chat history never says whether or how a story was shared."""

    text: str
    saved: bool  # the story is stored (or was already): nothing for the person to redo


TeamsReply = Card | Transient
TEAMS_COMMANDS = Commands(prompts="trust-prompts", report="trust-report")


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
    """Installations, messages (the report, pausing, the Action.Submit fallback), card actions
    (score, story) and reactions."""

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
                await attempt(
                    "forget a Teams installation", mark_unreachable(self._services, actor.user_id)
                )
            return
        await self._remember(activity)

    async def _remember(self, activity: Any) -> None:
        reference = _reference(activity, personal=_is_personal(activity))
        await attempt("store a Teams conversation", remember(self._services, reference))

    async def on_message(self, ctx: ActivityContext[MessageActivity]) -> None:
        """`trust-report ...`, `trust-prompts [pause|resume]`, or an Action.Submit fallback."""
        activity = ctx.activity
        actor = _actor(activity)
        if actor is None:
            return
        await self._remember(activity)  # first messaged counts like an installation
        if isinstance(activity.value, dict) and activity.value.get("trustbot"):
            data = dict(activity.value)
            clicked = await self._card_action(activity, data, actor)
            await ctx.send(_card_message(await self._fallback_card(activity, data, actor, clicked)))
            return
        words = _MENTION.sub("", activity.text or "").strip().split()
        command, arguments = (words[0].lower(), " ".join(words[1:])) if words else ("", "")
        if command in ("trust-report", "/trust-report", "report"):
            await ctx.send(_card_message(await self._report(activity, actor, arguments)))
        elif command in ("trust-prompts", "/trust-prompts"):
            reply = await prompts_command(self._services, actor=actor, arguments=arguments)
            await ctx.send(_card_message(render_text_card(reply.text(TEAMS_COMMANDS))))
        else:
            language = await language_of(self._services, actor=actor)
            await ctx.send(_card_message(render_text_card(_say(Reply("help", language)))))

    async def _report(self, activity: Any, actor: Actor, arguments: str) -> Card:
        settings = self._services.settings

        async def may_see() -> bool:
            return actor.user_id in settings.teams_report_viewers

        result = await request_report(
            self._services,
            actor=actor,
            arguments=arguments,
            may_see=may_see,
            private=_is_personal(activity),
        )
        if isinstance(result, Reply):
            return render_text_card(_say(result))
        parts = compose_report(result.report, language=result.language, timezone=settings.timezone)
        chart = await card_chart(result.report, result.language)
        return render_report_card(parts, result.report, result.language, chart=chart)

    async def on_message_reaction(self, ctx: ActivityContext[MessageReactionActivity]) -> None:
        """A reaction put on (or taken off) a message: counts on the person's own prompt."""
        activity = ctx.activity
        actor = _actor(activity)
        if actor is None or not activity.reply_to_id:
            return
        added = [(str(reaction.type), True) for reaction in activity.reactions_added or []]
        removed = [(str(reaction.type), False) for reaction in activity.reactions_removed or []]
        await react(
            self._services,
            actor=actor,
            address=_address(activity),
            changes=added + removed,
            event_us=_acted_us(activity),
        )

    async def on_card_action(self, ctx: ActivityContext[AdaptiveCardInvokeActivity]) -> Any:
        """Action.Execute: store, then answer with the refreshed card (or why nothing changed)."""
        activity = ctx.activity
        actor = _actor(activity)
        if actor is None:
            return invoke_message_response("unknown user")
        action = activity.value.action
        data = {**dict(action.data), "trustbot": action.verb}  # the verb decides, not the data
        reply = await self._card_action(activity, data, actor)
        if isinstance(reply, Transient):  # the card stays as it was: it says nothing of a story
            return cast(Any, invoke_message_response(reply.text))
        return cast(Any, invoke_card_response(reply))

    async def _fallback_card(
        self, activity: Any, data: dict[str, Any], actor: Actor, reply: TeamsReply
    ) -> Card:
        """What an Action.Submit (a client without Action.Execute) gets as a new message, which
        stays in the chat: after a stored story, the prompt as it stands, as after a score
        click, never what became of the story; a story that was not stored says why."""
        if not isinstance(reply, Transient):
            return reply
        if not reply.saved:
            return render_text_card(reply.text)
        return await self._current_card(activity, data, actor)

    async def _current_card(self, activity: Any, data: dict[str, Any], actor: Actor) -> Card:
        """The person's prompt as it stands now, read back from the database; stores nothing."""
        language = await language_of(self._services, actor=actor)
        round_id = parse_round_id(data.get("round"))
        if round_id is None:
            return render_text_card(_say(Reply("error.bad_action", language)))
        state = await attempt(
            "read a prompt",
            prompt_state(
                self._services, actor=actor, address=_address(activity), round_id=round_id
            ),
        )
        if state is FAILED or state is None:
            return render_text_card(_say(Reply("error.unknown_round", language)))
        return _prompt_card(state, language, note=None)

    async def _card_action(self, activity: Any, data: dict[str, Any], actor: Actor) -> TeamsReply:
        """What a score or story click does: for a score, the card that shows the person where
        they stand; for a story, a transient answer."""
        if data.get("trustbot") == REFRESH_VERB:  # Teams refreshing the card: nobody clicked
            return await self._current_card(activity, data, actor)
        if data.get("trustbot") == SCORE_VERB:
            return await self._score(activity, data, actor)
        if data.get("trustbot") == STORY_VERB:
            return await self._story(activity, data, actor)
        language = await language_of(self._services, actor=actor)
        return render_text_card(_say(Reply("error.bad_action", language)))

    async def _score(self, activity: Any, data: dict[str, Any], actor: Actor) -> Card:
        answer = await score_click(
            self._services,
            actor=actor,
            address=_address(activity),
            round_id=data.get("round"),
            score=data.get("score"),
            acted_us=_acted_us(activity),
        )
        note = None if answer.note is None else _say(answer.note)
        if answer.prompt is None:
            return render_text_card(note or _say(Reply("error.unknown_round", answer.language)))
        return _prompt_card(answer.prompt, answer.language, note=note)

    async def _story(self, activity: Any, data: dict[str, Any], actor: Actor) -> Transient:
        answer = await share_story(
            self._services,
            actor=actor,
            round_id=data.get("round"),
            visibility=str(data.get(VISIBILITY_INPUT) or ""),
            story=str(data.get(STORY_INPUT) or ""),
            source_id=f"teams:{activity.id}" if activity.id else None,
            author_name=activity.from_.name if activity.from_ else None,
        )
        return Transient(_say(answer.reply), saved=answer.saved)


def _say(reply: Reply) -> str:
    return reply.text(TEAMS_COMMANDS)


def _address(activity: Any) -> PromptAddress:
    return PromptAddress(str(activity.conversation.id), str(activity.reply_to_id or ""))


def _prompt_card(state: PromptState, language: Language, *, note: str | None) -> Card:
    """The prompt as it stands now, read back from the database (answered, closed)."""
    prompt = Prompt(state.round_id, state.period, state.rule, language)
    return render_prompt_card(
        prompt, answered=state.score is not None, closed=not state.open, note=note
    )


def _card_message(card: Card) -> MessageActivityInput:
    return MessageActivityInput().add_attachments(
        Attachment(content_type="application/vnd.microsoft.card.adaptive", content=card)
    )
