"""Files of personal data (a campaign's recipients, the suppression list) go to the person who
asked, in their direct messages with Textcast: a file shared in a channel or its thread can be
opened by every member of the channel, allowed to see it or not."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient


async def upload_to_dm(
    client: AsyncWebClient, user_id: str, *, content: str, filename: str, title: str, comment: str
) -> str:
    """Share `content` as a file in the app's DM with `user_id`; returns the DM's channel id."""
    opened = await client.conversations_open(users=user_id)
    channel = str(opened["channel"]["id"])
    await client.files_upload_v2(
        channel=channel, content=content, filename=filename, title=title, initial_comment=comment
    )
    return channel


def refused(error: SlackApiError) -> str:
    """What to tell the person when Slack refused the DM or the file."""
    code = error.response.get("error")
    if code == "missing_scope":  # an install from before files went to DMs (im:write)
        return ("Slack did not let Textcast send you the file: an admin must reinstall Textcast "
                "from its manifest (it now asks to write to your direct messages).")  # fmt: skip
    return f"Slack refused the file ({code}): try again in a moment."
