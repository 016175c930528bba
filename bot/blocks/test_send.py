"""The small modal "Send a test to me" pushes over the preview: where the test goes, or why it
cannot go. A test goes only to the phone in the person's own Slack profile, never to a number
typed here."""

from __future__ import annotations

from typing import Any

from bot.blocks.compose import Metadata, plain
from bot.blocks.text import escape, section

TEST = "sms_test"  # callback_id


def test_view(metadata: Metadata, phone: str) -> dict[str, Any]:
    """Ready to send to `phone`, the person's profile number (E.164)."""
    return {
        "type": "modal",
        "callback_id": TEST,
        "title": plain("Send a test", 24),
        "submit": plain("Send test", 24),
        "close": plain("Back", 24),
        "private_metadata": metadata.dump(),
        "blocks": [
            section(f"The first recipient's message goes to *{phone}*, the phone number in "
                    "your Slack profile, from the campaign's number. It is not part of the "
                    "campaign, and it counts in this month's spend."),
        ],
    }  # fmt: skip


def cannot_test_view(metadata: Metadata, why: str) -> dict[str, Any]:
    """No test can go: `why`, with what to do. Only Back."""
    return {
        "type": "modal",
        "callback_id": TEST,
        "title": plain("Send a test", 24),
        "close": plain("Back", 24),
        "private_metadata": metadata.dump(),
        "blocks": [section(escape(why))],
    }
