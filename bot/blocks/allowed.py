"""Who may create, send and cancel campaigns, named as Slack shows them: in refusals (the web
process) and on App Home (both processes), so a person who may not knows whom to ask."""

from __future__ import annotations

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
