"""The Web API basics through the real slack_sdk client: auth, directory, argument encodings."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aiohttp import ClientSession, web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack import (
    ALICE,
    BOB,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    CAMPAIGNS,
    CAROL,
    GENERAL,
    RANDOM,
    SANDBOX,
    SENDERS_GROUP,
    STAFF,
    TEAM_ID,
    SlackConfig,
    SlackSandbox,
    create_app,
)
from sandbox.slack.workspace import tz_offset_and_label
from tests.sandbox.slack_fixtures import (  # noqa: F401
    client_fixture,
    slack_fixture,
)


@pytest.fixture(name="slack_config")
def every_scope() -> SlackConfig:
    """These tests exercise every method the stand-in answers, reading back with some (history,
    conversations.info, users.lookupByEmail) that Textcast's manifest does not grant its bot."""
    return SlackConfig(scopes=None)


async def test_auth_test_names_the_bot(client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert response["ok"] is True
    assert response["team_id"] == TEAM_ID
    assert response["user_id"] == BOT_USER_ID
    assert response["bot_id"] == BOT_ID


async def test_an_unknown_token_is_invalid_auth(slack: SlackSandbox) -> None:
    stranger = AsyncWebClient(token="xoxb-not-ours", base_url=slack.url)
    with pytest.raises(SlackApiError) as raised:
        await stranger.chat_postMessage(channel=CAMPAIGNS, text="hi")
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "invalid_auth"
    assert slack.messages(CAMPAIGNS) == []


async def test_no_token_is_not_authed(slack: SlackSandbox) -> None:
    anonymous = AsyncWebClient(base_url=slack.url)
    with pytest.raises(SlackApiError) as raised:
        await anonymous.auth_test()
    assert raised.value.response["error"] == "not_authed"


async def test_a_token_in_the_form_body_is_accepted(slack: SlackSandbox) -> None:
    anonymous = AsyncWebClient(base_url=slack.url)
    response = await anonymous.api_call("auth.test", data={"token": BOT_TOKEN})
    assert response["user_id"] == BOT_USER_ID


async def test_an_unknown_method_says_so(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("chat.fly")
    assert raised.value.response["error"] == "unknown_method"


async def test_users_info_gives_time_zones(client: AsyncWebClient) -> None:
    alice = (await client.users_info(user=ALICE))["user"]
    bob = (await client.users_info(user=BOB, include_locale=True))["user"]
    carol = (await client.users_info(user=CAROL))["user"]
    assert alice["real_name"] == "Alice Smith"
    assert alice["profile"]["real_name"] == "Alice Smith"
    assert alice["tz"] == "Europe/London"
    assert alice["tz_label"] in ("Greenwich Mean Time", "British Summer Time")
    assert alice["tz_offset"] in (0, 3600)
    assert bob["tz"] == "America/New_York"
    assert bob["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert bob["locale"] == "en-US"
    assert carol["tz_offset"] == 19800
    assert carol["tz_label"] == "India Standard Time"


def test_offsets_follow_daylight_saving() -> None:
    winter = datetime(2026, 1, 15, 12, tzinfo=UTC)
    summer = datetime(2026, 7, 15, 12, tzinfo=UTC)
    assert tz_offset_and_label("Europe/London", winter) == (0, "Greenwich Mean Time")
    assert tz_offset_and_label("Europe/London", summer) == (3600, "British Summer Time")
    assert tz_offset_and_label("America/New_York", summer) == (-14400, "Eastern Daylight Time")


async def test_an_unknown_user_is_user_not_found(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.users_info(user="U0NOBODY")
    assert raised.value.response["error"] == "user_not_found"


async def test_users_added_by_a_test_are_known(slack: SlackSandbox, client: AsyncWebClient) -> None:
    slack.add_user("U0DAVE", "dave", "Dave Brown", "Australia/Sydney", email="dave@example.com")
    dave = (await client.users_info(user="U0DAVE"))["user"]
    assert dave["tz"] == "Australia/Sydney"
    assert dave["tz_offset"] in (10 * 3600, 11 * 3600)
    found = await client.users_lookupByEmail(email="dave@example.com")
    assert found["user"]["id"] == "U0DAVE"


async def test_conversations_info(client: AsyncWebClient) -> None:
    campaigns = (await client.conversations_info(channel=CAMPAIGNS))["channel"]
    assert campaigns["name"] == "campaigns"
    assert campaigns["is_member"] is True
    general = (await client.conversations_info(channel=GENERAL))["channel"]
    assert general["is_general"] is True
    random = (await client.conversations_info(channel=RANDOM, include_num_members=True))["channel"]
    assert random["is_member"] is False
    assert random["num_members"] == 2


async def test_an_unknown_channel_is_channel_not_found(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.conversations_info(channel="C0NOWHERE")
    assert raised.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C0NOWHERE", text="hello?")
    assert raised.value.response["error"] == "channel_not_found"


async def test_channels_added_by_a_test_are_known(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    slack.add_channel("C0OPS", "ops", is_private=True)
    ops = (await client.conversations_info(channel="C0OPS"))["channel"]
    assert ops["is_private"] is True
    await client.chat_postMessage(channel="C0OPS", text="deployed")
    assert [m.text for m in slack.messages("#ops")] == ["deployed"]


async def test_usergroup_members(client: AsyncWebClient) -> None:
    response = await client.usergroups_users_list(usergroup=SENDERS_GROUP)
    assert response["users"] == [ALICE, BOB]


async def test_form_encoded_and_json_bodies_mean_the_same(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Both*"}}]
    as_json = await client.api_call(
        "chat.postMessage", json={"channel": CAMPAIGNS, "text": "json", "blocks": blocks}
    )
    as_form = await client.api_call(
        "chat.postMessage",
        data={"channel": CAMPAIGNS, "text": "form", "blocks": json.dumps(blocks)},
    )
    assert as_json["message"]["blocks"][0]["text"] == as_form["message"]["blocks"][0]["text"]
    logged = slack.calls("chat.postMessage")
    assert [c.args["blocks"] for c in logged] == [blocks, blocks]  # decoded for the call log


async def test_every_call_is_recorded_in_order(slack: SlackSandbox, client: AsyncWebClient) -> None:
    await client.auth_test()
    await client.chat_postMessage(channel=CAMPAIGNS, text="one")
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel=STAFF, text="two")
    calls = slack.calls()
    assert [c.method for c in calls] == ["auth.test", "chat.postMessage", "chat.postMessage"]
    assert [c.ok for c in calls] == [True, True, False]
    assert calls[2].error == "not_in_channel"
    assert calls[0].time <= calls[1].time <= calls[2].time
    assert [c.args["text"] for c in slack.calls("chat.postMessage", channel=CAMPAIGNS)] == ["one"]
    assert [c.channel for c in slack.calls(channel="#staff")] == [STAFF]
    slack.reset()
    assert slack.calls() == []
    assert slack.messages(CAMPAIGNS) == []


async def test_create_app_serves_the_same_api_standalone() -> None:
    app = create_app()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=f"http://{host}:{port}/api/")
        await client.chat_postMessage(channel=CAMPAIGNS, text="standalone")
        assert [m.text for m in app[SANDBOX].messages(CAMPAIGNS)] == ["standalone"]
    finally:
        await runner.cleanup()


async def test_another_process_can_inspect_over_http(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    await client.chat_postMessage(channel=CAMPAIGNS, text="visible from outside")
    async with ClientSession() as session:
        async with session.get(f"{slack.origin}/_sandbox/transcript/C0CAMPAIGNS") as response:
            assert await response.text() == "#campaigns\nTextcast [APP]: visible from outside\n"
        async with session.get(
            f"{slack.origin}/_sandbox/calls", params={"method": "chat.postMessage"}
        ) as response:
            [call] = await response.json()
            assert (call["method"], call["channel"], call["ok"]) == (
                "chat.postMessage",
                CAMPAIGNS,
                True,
            )
        async with session.post(
            f"{slack.origin}/_sandbox/files", params={"name": "people.csv"}, data=b"phone\n+1\n"
        ) as response:
            file = await response.json()
        assert (await client.files_info(file=file["id"]))["file"]["size"] == 9
        async with session.post(f"{slack.origin}/_sandbox/reset") as response:
            assert response.status == 204
    assert slack.calls() == []


async def test_another_process_can_read_threads_and_drive_modals_over_http(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    parent = await client.chat_postMessage(channel=CAMPAIGNS, text="parent")
    await client.chat_postMessage(channel=CAMPAIGNS, text="in the thread", thread_ts=parent["ts"])
    view = {"type": "modal", "callback_id": "first", "title": {"type": "plain_text", "text": "A"},
            "submit": {"type": "plain_text", "text": "Go"}, "blocks": []}  # fmt: skip
    opened = await client.views_open(trigger_id=slack.issue_trigger_id(ALICE), view=view)
    async with ClientSession() as session:
        async with session.get(f"{slack.origin}/_sandbox/messages/{CAMPAIGNS}") as response:
            found = await response.json()
        assert [(m["text"], m["channel"], m.get("thread_ts")) for m in found] == [
            ("parent", CAMPAIGNS, parent["ts"]),
            ("in the thread", CAMPAIGNS, parent["ts"]),
        ]
        async with session.get(f"{slack.origin}/_sandbox/views/{ALICE}") as response:
            [shown] = await response.json()
        assert (shown["id"], shown["callback_id"]) == (opened["view"]["id"], "first")
        # The app answered the submission with `push`: the stand-in stacks the new view.
        answer = {"response_action": "push", "view": {**view, "callback_id": "second"}}
        url = f"{slack.origin}/_sandbox/views/{shown['id']}/answer"
        async with session.post(url, data=json.dumps(answer)) as response:
            assert await response.json() == {"errors": {}}
        async with session.get(f"{slack.origin}/_sandbox/views/{ALICE}") as response:
            assert [v["callback_id"] for v in await response.json()] == ["first", "second"]
        async with session.get(f"{slack.origin}/_sandbox/messages/CNOSUCH") as response:
            assert response.status == 404
