"""The transcript: blocks rendered as a person reads them, edits, threads, ephemeral messages."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack import ALICE, BOB, CAMPAIGNS, SENDERS_GROUP, SlackSandbox
from sandbox.slack.blocks import mrkdwn, render
from sandbox.slack.workspace import Workspace
from tests.sandbox.slack_fixtures import (  # noqa: F401
    client_fixture,
    slack_config_fixture,
    slack_fixture,
)

CAMPAIGN_BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "Spring sale"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "Scheduled by <@U0ALICE> for *Mon 24 Nov, 09:00*"},
        "accessory": {
            "type": "overflow",
            "action_id": "more",
            "options": [{"text": {"type": "plain_text", "text": "Copy"}, "value": "copy"}],
        },
    },
    {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": "*Recipients*\n120"},
            {"type": "mrkdwn", "text": "*Cost*\n$1.90"},
        ],
    },
    {"type": "divider"},
    {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": "Reports go to <#C0CAMPAIGNS>"},
            {"type": "image", "image_url": "https://example.com/i.png", "alt_text": "sms"},
        ],
    },
    {
        "type": "actions",
        "elements": [
            {"type": "button", "action_id": "edit", "text": {"type": "plain_text", "text": "Edit"}},
            {
                "type": "button",
                "action_id": "cancel",
                "style": "danger",
                "text": {"type": "plain_text", "text": "Cancel campaign"},
            },
            {
                "type": "static_select",
                "action_id": "sender",
                "placeholder": {"type": "plain_text", "text": "Sender"},
                "options": [
                    {"text": {"type": "plain_text", "text": "All numbers"}, "value": "all"}
                ],
            },
        ],
    },
]


def test_blocks_render_to_readable_lines() -> None:
    assert render(CAMPAIGN_BLOCKS, Workspace()) == [
        "# Spring sale",
        "Scheduled by @Alice Smith for *Mon 24 Nov, 09:00*",
        "[…]",
        "*Recipients*",
        "120",
        "*Cost*",
        "$1.90",
        "---",
        "Reports go to #campaigns  (image: sms)",
        "[Edit] [Cancel campaign] [Sender ▾]",
    ]


def test_mrkdwn_reads_as_slack_shows_it() -> None:
    workspace = Workspace()
    text = (
        f"<!subteam^{SENDERS_GROUP}> see <https://example.com/c/7|the report> &amp; "
        "<!date^1764000000^{date_short}|24 Nov> <!here> 1 &lt; 2"
    )
    assert mrkdwn(text, workspace) == "@sms-senders see the report & 24 Nov @here 1 < 2"


def test_input_blocks_and_rich_text() -> None:
    blocks = [
        {
            "type": "input",
            "optional": True,
            "label": {"type": "plain_text", "text": "Message"},
            "element": {"type": "plain_text_input", "action_id": "body", "initial_value": "Hi"},
        },
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "text", "text": "Ping "},
                        {"type": "user", "user_id": BOB},
                    ],
                },
                {
                    "type": "rich_text_list",
                    "style": "bullet",
                    "elements": [
                        {"type": "rich_text_section", "elements": [{"type": "text", "text": "a"}]}
                    ],
                },
            ],
        },
    ]
    assert render(blocks, Workspace()) == ["Message (optional): [Hi]", "Ping @Bob Jones", "- a"]


async def test_a_channel_transcript(slack: SlackSandbox, client: AsyncWebClient) -> None:
    question = slack.add_message(CAMPAIGNS, ALICE, "Can we text the <!subteam^S0SENDERS> list?")
    posted = await client.chat_postMessage(
        channel=CAMPAIGNS, text="Spring sale scheduled", blocks=CAMPAIGN_BLOCKS
    )
    await client.chat_postMessage(
        channel=CAMPAIGNS,
        thread_ts=posted["ts"],
        text="progress",
        attachments=[{"color": "#2eb886", "text": "118 delivered", "fields": []}],
    )
    slack.add_message(CAMPAIGNS, BOB, "nice", thread_ts=posted["ts"])
    await client.chat_postEphemeral(channel=CAMPAIGNS, user=BOB, text="You can't cancel this one")
    await client.chat_update(
        channel=CAMPAIGNS,
        ts=posted["ts"],
        text="Spring sale sent",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*Spring sale*: sent"}}],
    )
    await client.chat_postMessage(channel=CAMPAIGNS, thread_ts=question.ts, text="Yes")
    assert slack.transcript(CAMPAIGNS) == (
        "#campaigns\n"
        "Alice Smith: Can we text the @sms-senders list?\n"
        "  ↳ Textcast [APP]: Yes\n"
        "Textcast [APP] (edited): *Spring sale*: sent\n"
        "  ↳ Textcast [APP]:\n"
        "      progress\n"
        "      | 118 delivered\n"
        "  ↳ Bob Jones: nice\n"
        "Textcast [APP] (only visible to Bob Jones): You can't cancel this one\n"
    )
