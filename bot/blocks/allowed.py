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
    if len(named) == 1:
        return named[0]
    return ", ".join(named[:-1]) + " and " + named[-1]
