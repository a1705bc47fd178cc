"""Who is who in the workspace: the audience and the report viewers, from Slack ids."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from trustbot.core.interactions import ViewerCheckFailed
from trustbot.core.ports import Person

logger = logging.getLogger(__name__)

PAGE_SIZE = 200


def is_active_human(user: dict[str, Any]) -> bool:
    """A person who can get a prompt: not a bot, not Slackbot, not deactivated."""
    return not (
        user.get("deleted") or user.get("is_bot") or user.get("id") == "USLACKBOT"
    ) and not user.get("is_app_user")


async def active_humans(client: AsyncWebClient) -> dict[str, str | None]:
    """Every active human in the workspace and their time zone (users.list, all pages)."""
    humans: dict[str, str | None] = {}
    async for page in await client.users_list(limit=PAGE_SIZE):
        for user in page.get("members") or []:
            if is_active_human(user):
                humans[str(user["id"])] = user.get("tz") or None
    return humans


async def channel_members(client: AsyncWebClient, channel: str) -> list[str]:
    """Every member of a channel (conversations.members, following its cursor)."""
    members: list[str] = []
    async for page in await client.conversations_members(channel=channel, limit=PAGE_SIZE):
        members.extend(page.get("members") or [])
    return members


async def resolve_audience(client: AsyncWebClient, audience: list[str]) -> list[Person]:
    """People in TRUSTBOT_AUDIENCE: user ids, channel members, user-group members; humans only.

    users.list (paged, Tier 2) tells who is an active human and their time zone in one pass,
    however large the workspace, instead of one users.info call per person.
    """
    candidates: list[str] = []
    for slack_id in audience:
        if slack_id[0] in "UW":
            candidates.append(slack_id)
        elif slack_id[0] in "CG":
            candidates.extend(await channel_members(client, slack_id))
        elif slack_id[0] == "S":
            candidates.extend(await usergroup_members(client, slack_id))
    humans = await active_humans(client)
    return [Person(user, humans[user]) for user in dict.fromkeys(candidates) if user in humans]


async def usergroup_members(client: AsyncWebClient, usergroup: str) -> list[str]:
    """The members of a user group."""
    response = await client.usergroups_users_list(usergroup=usergroup)
    return list(response.get("users") or [])


async def is_report_viewer(client: AsyncWebClient, user_id: str, viewers: list[str]) -> bool:
    """Whether TRUSTBOT_REPORT_VIEWERS names the user, directly or through a user group."""
    if user_id in viewers:
        return True
    for usergroup in (viewer for viewer in viewers if viewer.startswith("S")):
        if user_id in await usergroup_members(client, usergroup):
            return True
    return False


def report_viewer_check(
    client: AsyncWebClient, user_id: str, viewers: list[str]
) -> Callable[[], Awaitable[bool]]:
    """`is_report_viewer` for the core's report use case: a Slack failure is logged and told
    to the core as `ViewerCheckFailed`."""

    async def check() -> bool:
        try:
            return await is_report_viewer(client, user_id, viewers)
        except SlackApiError as error:
            logger.error("could not check report viewers: %s", error.response.get("error"))
            raise ViewerCheckFailed from None

    return check


async def teams_of(client: AsyncWebClient, teams: dict[str, str]) -> dict[str, str]:
    """Each person's team (TRUSTBOT_TEAMS: user groups or channels); the first listed wins."""
    team_of: dict[str, str] = {}
    for name, slack_id in teams.items():
        members = (
            await usergroup_members(client, slack_id)
            if slack_id.startswith("S")
            else await channel_members(client, slack_id)
        )
        for member in members:
            team_of.setdefault(member, name)
    return team_of
