"""Who may create, send and cancel campaigns: the one check for commands, buttons and views (the
web process) and for App Home's buttons (both processes), and those people named as Slack shows
them, so a person who may not knows whom to ask."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from campaigns.settings import Settings

NAMED = 5  # allowed people named; the rest are counted


def who_may(settings: Settings) -> str:
    """The allowed people as Slack shows them: '<@U1>, <@U2> and members of <!subteam^S1>'."""
    users, group = settings.ALLOWED_SLACK_USERS, settings.ALLOWED_SLACK_USERGROUP
    named = [f"<@{user}>" for user in users[:NAMED]]
    if len(users) > NAMED:
        others = len(users) - NAMED
        named.append(f"{others} other{'s' if others > 1 else ''}")
    if group:
        named.append(f"members of <!subteam^{group}>")
    return and_list(named)


def whom_to_ask(settings: Settings) -> str:
    """Whom someone not allowed asks for access: the person or group named for it
    (ACCESS_CONTACT), else the allowed people themselves."""
    contact = settings.ACCESS_CONTACT
    if contact:
        return mention(contact)
    return who_may(settings)


def mention(slack_id: str) -> str:
    """A Slack user (U…, W…) or user group (S…) as a mention."""
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def and_list(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True, slots=True)
class Allowed:
    """The people who may act (`user_id in allowed`); everyone when nobody is named."""

    people: frozenset[str] = frozenset()
    everyone: bool = False

    def __contains__(self, user_id: object) -> bool:
        return self.everyone or user_id in self.people


async def allowed_set(settings: Settings, client: AsyncWebClient) -> Allowed:
    """ALLOWED_SLACK_USERS and the members of ALLOWED_SLACK_USERGROUP (read from Slack: a
    SlackApiError if it will not list them); everyone when neither is set."""
    users, group = settings.ALLOWED_SLACK_USERS, settings.ALLOWED_SLACK_USERGROUP
    if not users and not group:
        return Allowed(everyone=True)
    people = set(users)
    if group:
        members = await client.usergroups_users_list(usergroup=group)
        people.update(members.get("users") or [])
    return Allowed(people=frozenset(people))


async def is_allowed(settings: Settings, client: AsyncWebClient, user_id: str) -> bool:
    """Whether one person may act; the group is not read for someone named in the settings."""
    if user_id in settings.ALLOWED_SLACK_USERS:
        return True
    return user_id in await allowed_set(settings, client)
