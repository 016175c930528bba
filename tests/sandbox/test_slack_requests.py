"""The builders of what Slack sends an app: signatures, encodings and payload shapes."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from urllib.parse import parse_qs

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack import (
    ALICE,
    BOB,
    BOT_TOKEN,
    BOT_USER_ID,
    CAMPAIGNS,
    GENERAL,
    SIGNING_SECRET,
    TEAM_ID,
    SlackSandbox,
    requests,
)
from sandbox.slack.requests import SlackRequest
from tests.sandbox.slack_fixtures import (  # noqa: F401
    client_fixture,
    slack_config_fixture,
    slack_fixture,
)


def every_kind() -> dict[str, SlackRequest]:
    message = {
        "ts": "1700000000.000100",
        "text": "Send?",
        "blocks": [
            {
                "type": "actions",
                "block_id": "b",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "go",
                        "value": "7",
                        "text": {"type": "plain_text", "text": "Go"},
                    }
                ],
            }
        ],
    }
    return {
        "slash_command": requests.slash_command(SIGNING_SECRET, "new"),
        "view_submission": requests.view_submission(SIGNING_SECRET, FORM, FILLED),
        "view_closed": requests.view_closed(SIGNING_SECRET, FORM),
        "block_actions": requests.block_actions(
            SIGNING_SECRET, "go", message=message, channel_id=CAMPAIGNS
        ),
        "app_mention": requests.app_mention(SIGNING_SECRET, "status"),
        "message": requests.message_event(SIGNING_SECRET, "STOP"),
        "url_verification": requests.url_verification(SIGNING_SECRET, "abc"),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "slash_command",
        "view_submission",
        "view_closed",
        "block_actions",
        "app_mention",
        "message",
        "url_verification",
    ],
)
def test_signed_as_slack_signs(kind: str) -> None:
    request = every_kind()[kind]
    verifier = SignatureVerifier(SIGNING_SECRET)
    assert verifier.is_valid(request.body, request.timestamp, request.signature)
    assert verifier.is_valid_request(request.body, request.headers)
    assert not SignatureVerifier("another-secret").is_valid(
        request.body, request.timestamp, request.signature
    )
    assert not verifier.is_valid(request.body + b" ", request.timestamp, request.signature)


def test_an_old_timestamp_is_refused_by_the_verifier() -> None:
    old = requests.slash_command(SIGNING_SECRET, "new", timestamp=int(time.time()) - 600)
    assert not SignatureVerifier(SIGNING_SECRET).is_valid_request(old.body, old.headers)


def test_slash_command_is_a_form() -> None:
    request = requests.slash_command(
        SIGNING_SECRET, "new spring", user_id=BOB, channel_id=GENERAL, sandbox_url=None
    )
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert fields["command"] == "/sms"
    assert fields["text"] == "new spring"
    assert fields["user_id"] == BOB
    assert fields["user_name"] == "bob"
    assert fields["channel_id"] == GENERAL
    assert fields["channel_name"] == "general"
    assert fields["team_id"] == TEAM_ID
    assert fields["trigger_id"].count(".") == 2
    assert fields["response_url"].startswith("https://hooks.slack.com/")
    assert fields == request.payload


def test_events_are_json_and_interactions_carry_a_payload_field() -> None:
    kinds = every_kind()
    mention = kinds["app_mention"]
    assert mention.headers["Content-Type"] == "application/json"
    body = json.loads(mention.body)
    assert body["type"] == "event_callback"
    assert body["event"]["type"] == "app_mention"
    assert body["event"]["text"] == f"<@{BOT_USER_ID}> status"
    assert body["authorizations"][0]["user_id"] == BOT_USER_ID
    assert json.loads(kinds["url_verification"].body) == {
        "token": "sandbox-verification-token",
        "challenge": "abc",
        "type": "url_verification",
    }
    message = json.loads(kinds["message"].body)["event"]
    assert (message["type"], message["channel_type"], message["text"]) == (
        "message",
        "channel",
        "STOP",
    )
    click = kinds["block_actions"]
    [payload] = parse_qs(click.body.decode())["payload"]
    assert json.loads(payload) == click.payload
    assert click.payload["type"] == "block_actions"


def test_a_retried_event_says_so() -> None:
    retried = requests.event_callback(
        SIGNING_SECRET, {"type": "app_home_opened", "user": ALICE}, retry_num=1
    )
    assert retried.headers["X-Slack-Retry-Num"] == "1"
    assert retried.headers["X-Slack-Retry-Reason"] == "http_timeout"


def _input(block_id: str, element: dict, *, optional: bool = False) -> dict:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": block_id},
        "element": element,
    }


def _option(value: str) -> dict:
    return {"text": {"type": "plain_text", "text": value.title()}, "value": value}


FORM = {
    "id": "V000000001",
    "type": "modal",
    "callback_id": "campaign_new",
    "hash": "1.abc",
    "private_metadata": "",
    "state": {"values": {}},
    "blocks": [
        _input("name", {"type": "plain_text_input", "action_id": "name", "max_length": 40}),
        _input(
            "sender",
            {
                "type": "static_select",
                "action_id": "sender",
                "options": [_option("all"), _option("+14155550100")],
            },
        ),
        _input("when", {"type": "datetimepicker", "action_id": "when"}),
        _input(
            "consent",
            {"type": "checkboxes", "action_id": "consent", "options": [_option("opted_in")]},
        ),
        _input(
            "schedule",
            {
                "type": "radio_buttons",
                "action_id": "schedule",
                "options": [_option("now"), _option("later")],
                "initial_option": _option("now"),
            },
        ),
        _input("recipients", {"type": "file_input", "action_id": "recipients"}, optional=True),
        _input(
            "report_to",
            {
                "type": "conversations_select",
                "action_id": "report_to",
                "response_url_enabled": True,
            },
        ),
        _input("note", {"type": "plain_text_input", "action_id": "note"}, optional=True),
        _input("day", {"type": "datepicker", "action_id": "day"}, optional=True),
    ],
}
WHEN = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CSV_FILE = {"id": "F000000001", "name": "people.csv"}
FILLED = {
    "name": "Spring sale",
    "sender": "all",
    "when": WHEN,
    "consent": ["opted_in"],
    "recipients": [CSV_FILE],
    "report_to": CAMPAIGNS,
}


def test_view_submission_state_has_slacks_shapes() -> None:
    request = requests.view_submission(SIGNING_SECRET, FORM, FILLED, sandbox_url=None)
    payload = request.payload
    assert payload["type"] == "view_submission"
    assert payload["user"]["id"] == ALICE
    assert payload["view"]["id"] == FORM["id"]
    assert payload["view"]["callback_id"] == "campaign_new"
    values = payload["view"]["state"]["values"]
    assert values == {
        "name": {"name": {"type": "plain_text_input", "value": "Spring sale"}},
        "sender": {"sender": {"type": "static_select", "selected_option": _option("all")}},
        "when": {"when": {"type": "datetimepicker", "selected_date_time": int(WHEN.timestamp())}},
        "consent": {"consent": {"type": "checkboxes", "selected_options": [_option("opted_in")]}},
        "schedule": {"schedule": {"type": "radio_buttons", "selected_option": _option("now")}},
        "recipients": {"recipients": {"type": "file_input", "files": [CSV_FILE]}},
        "report_to": {
            "report_to": {"type": "conversations_select", "selected_conversation": CAMPAIGNS}
        },
        "note": {"note": {"type": "plain_text_input", "value": None}},
        "day": {"day": {"type": "datepicker", "selected_date": None}},
    }
    [response_url] = payload["response_urls"]
    assert (response_url["block_id"], response_url["channel_id"]) == ("report_to", CAMPAIGNS)
    [encoded] = parse_qs(request.body.decode())["payload"]
    assert json.loads(encoded) == payload


def test_view_submission_refuses_what_slack_would_not_submit() -> None:
    missing = {k: v for k, v in FILLED.items() if k != "name"}
    with pytest.raises(ValueError, match="required"):
        requests.view_submission(SIGNING_SECRET, FORM, missing)
    with pytest.raises(ValueError, match="not an option"):
        requests.view_submission(SIGNING_SECRET, FORM, {**FILLED, "sender": "+19999999999"})
    with pytest.raises(ValueError, match="at most 40"):
        requests.view_submission(SIGNING_SECRET, FORM, {**FILLED, "name": "x" * 41})
    with pytest.raises(ValueError, match="no such input"):
        requests.view_submission(SIGNING_SECRET, FORM, {**FILLED, "nope": "x"})


def test_view_submission_other_elements() -> None:
    request = requests.view_submission(
        SIGNING_SECRET, FORM, {**FILLED, "day": date(2026, 11, 24), "note": "hi"}
    )
    values = request.payload["view"]["state"]["values"]
    assert values["day"]["day"]["selected_date"] == "2026-11-24"
    assert values["note"]["note"]["value"] == "hi"


def test_block_actions_from_a_message() -> None:
    message = {
        "ts": "1700000000.000100",
        "text": "Send?",
        "blocks": [
            {
                "type": "actions",
                "block_id": "decide",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "cancel",
                        "value": "campaign-7",
                        "style": "danger",
                        "text": {"type": "plain_text", "text": "Cancel"},
                    }
                ],
            }
        ],
    }
    request = requests.block_actions(
        SIGNING_SECRET,
        "cancel",
        message=message,
        channel_id=CAMPAIGNS,
        user_id=BOB,
        sandbox_url="http://127.0.0.1:9/api/",
    )
    payload = request.payload
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": CAMPAIGNS,
        "is_ephemeral": False,
    }
    assert payload["channel"] == {"id": CAMPAIGNS, "name": "campaigns"}
    assert payload["message"] == message
    [action] = payload["actions"]
    assert action["action_id"] == "cancel"
    assert action["block_id"] == "decide"
    assert action["value"] == "campaign-7"
    assert action["type"] == "button"
    assert action["text"]["text"] == "Cancel"
    assert payload["response_url"].startswith("http://127.0.0.1:9/response/")
    with pytest.raises(ValueError, match="cannot click"):
        requests.block_actions(SIGNING_SECRET, "missing", message=message, channel_id=CAMPAIGNS)


async def test_block_actions_in_a_view_and_bolt_routes_them(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Senders"},
        "blocks": [
            {
                "type": "section",
                "block_id": "pick",
                "text": {"type": "mrkdwn", "text": "Send from"},
                "accessory": {
                    "type": "static_select",
                    "action_id": "sender",
                    "options": [_option("all"), _option("one")],
                },
            }
        ],
    }
    opened = (await client.views_open(trigger_id=slack.issue_trigger_id(), view=view))["view"]
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=slack.url),
        signing_secret=SIGNING_SECRET,
        process_before_response=True,
    )
    picked: list[str] = []

    @app.action("sender")
    async def on_sender(ack, action, body) -> None:  # type: ignore[no-untyped-def]
        await ack()
        picked.append(action["selected_option"]["value"])
        assert body["container"] == {"type": "view", "view_id": opened["id"]}

    click = requests.block_actions(SIGNING_SECRET, "sender", value="one", view=opened)
    response = await app.async_dispatch(
        AsyncBoltRequest(body=click.body.decode(), headers=click.headers)
    )
    assert response.status == 200
    assert picked == ["one"]
