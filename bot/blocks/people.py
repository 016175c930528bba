"""Who a message is for: the campaign's creator, mentioned where they must act or know, and the
approvers, mentioned on an approval request."""

from __future__ import annotations

from collections.abc import Iterable

from bot.blocks.allowed import NAMED, and_list
from campaigns.models import Campaign
from campaigns.settings import Settings

HERE = "<!here>"


def slack_user(actor: str | None) -> str | None:
    """The Slack user id of an actor as stored ('slack:U123'); None for an API key or Textcast."""
    kind, _, user = (actor or "").partition(":")
    return user if kind == "slack" and user else None


def creator(campaign: Campaign) -> str | None:
    """The creator as a mention ('<@U123>'); None for a campaign made over the API."""
    user = slack_user(campaign.created_by)
    return f"<@{user}>" if user else None


def for_creator(campaign: Campaign, text: str, *, unless: str | None = None) -> str:
    """`text` with the creator mentioned first, so Slack notifies them; not when the creator
    is `unless` (the person who did it: nobody is notified of their own click)."""
    mention = creator(campaign)
    if mention is None or slack_user(unless) == slack_user(campaign.created_by):
        return text
    return f"{mention} {text}"


def approvers(settings: Settings, makers: Iterable[str] = ()) -> str:
    """Who is asked to approve: the approvers' group when one is set; else those who may send
    (their group, and the listed people who did not make this version, when few enough to
    name); else @here, the people active in the channel the request is posted in.

    With nobody named, anyone in that channel may approve, so @here asks the right people
    without waking everyone's phone as @channel would."""
    if settings.APPROVERS_SLACK_USERGROUP:
        return f"<!subteam^{settings.APPROVERS_SLACK_USERGROUP}>"
    excluded = {slack_user(who) for who in makers}
    users = [user for user in settings.ALLOWED_SLACK_USERS if user not in excluded]
    named = [f"<@{user}>" for user in users] if len(users) <= NAMED else []
    if settings.ALLOWED_SLACK_USERGROUP:
        named.append(f"<!subteam^{settings.ALLOWED_SLACK_USERGROUP}>")
    return and_list(named) or HERE
