"""The small modal "Send a test to me" pushes over the preview: which number to text."""

from __future__ import annotations

from typing import Any

from bot.blocks.compose import Metadata, plain

TEST = "sms_test"  # callback_id
TEST_PHONE = "test_phone"


def test_view(metadata: Metadata, remembered: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": TEST_PHONE,
                               "max_length": 30,
                               "placeholder": plain("+447700900123")}  # fmt: skip
    if remembered:
        element["initial_value"] = remembered
    return {
        "type": "modal",
        "callback_id": TEST,
        "title": plain("Send a test", 24),
        "submit": plain("Send test", 24),
        "close": plain("Back", 24),
        "private_metadata": metadata.dump(),
        "blocks": [
            {"type": "input", "block_id": TEST_PHONE, "label": plain("Your mobile number"),
             "element": element,
             "hint": plain("The first recipient's message goes to this number, from the "
                           "campaign's sender. It is not part of the campaign.", 2000)},
        ],
    }  # fmt: skip
