"""chat.* through the real slack_sdk client, and what a person in the channel would read."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from sandbox.slack import (
    ALICE,
    BOB,
    BOT_USER_ID,
    CAMPAIGNS,
    CAROL,
    GENERAL,
    STAFF,
    SlackConfig,
    SlackSandbox,
    requests,
)
from tests.sandbox.slack_fixtures import (  # noqa: F401
    client_fixture,
    slack_fixture,
)


@pytest.fixture(name="slack_config")
def every_scope() -> SlackConfig:
    """These tests exercise every method the stand-in answers, reading back with some (history,
    conversations.info, users.lookupByEmail) that Textcast's manifest does not grant its bot."""
    return SlackConfig(scopes=None)


async def test_post_update_and_reply_show_in_the_transcript(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel=CAMPAIGNS, text="Campaign *Spring* scheduled")
    assert posted["channel"] == CAMPAIGNS
    assert posted["message"]["text"] == "Campaign *Spring* scheduled"
    ts = posted["ts"]
    updated = await client.chat_update(channel=CAMPAIGNS, ts=ts, text="Campaign *Spring* sending")
    assert (updated["channel"], updated["ts"], updated["text"]) == (
        CAMPAIGNS,
        ts,
        "Campaign *Spring* sending",
    )
    reply = await client.chat_postMessage(channel=CAMPAIGNS, thread_ts=ts, text="10 of 120 sent")
    await client.chat_postMessage(channel=CAMPAIGNS, text="Another campaign")

    assert [m.text for m in slack.messages(CAMPAIGNS)] == [
        "Campaign *Spring* sending",
        "Another campaign",
    ]
    assert slack.messages(CAMPAIGNS)[0].edited
    assert [m.ts for m in slack.thread(CAMPAIGNS, ts)] == [reply["ts"]]
    assert reply["message"]["thread_ts"] == ts
    assert slack.transcript(CAMPAIGNS) == (
        "#campaigns\n"
        "Textcast [APP] (edited): Campaign *Spring* sending\n"
        "  ↳ Textcast [APP]: 10 of 120 sent\n"
        "Textcast [APP]: Another campaign\n"
    )


async def test_a_reply_to_a_reply_joins_the_parent_thread(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    parent = await client.chat_postMessage(channel=CAMPAIGNS, text="parent")
    first = await client.chat_postMessage(channel=CAMPAIGNS, thread_ts=parent["ts"], text="one")
    second = await client.chat_postMessage(channel=CAMPAIGNS, thread_ts=first["ts"], text="two")
    assert second["message"]["thread_ts"] == parent["ts"]
    assert [m.text for m in slack.thread(CAMPAIGNS, parent["ts"])] == ["one", "two"]


async def test_threads_need_a_real_parent(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=CAMPAIGNS, thread_ts="123.456", text="orphan")
    assert raised.value.response["error"] == "thread_not_found"
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=CAMPAIGNS, thread_ts="yesterday", text="orphan")
    assert raised.value.response["error"] == "invalid_thread_ts"


async def test_reply_broadcast_shows_in_the_channel_too(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    parent = await client.chat_postMessage(channel=CAMPAIGNS, text="Spring sale")
    await client.chat_postMessage(
        channel=CAMPAIGNS, thread_ts=parent["ts"], text="Done: 118 delivered", reply_broadcast=True
    )
    assert [m.text for m in slack.messages(CAMPAIGNS)] == ["Spring sale", "Done: 118 delivered"]
    assert slack.transcript(CAMPAIGNS) == (
        "#campaigns\n"
        "Textcast [APP]: Spring sale\n"
        "  ↳ Textcast [APP] (also sent to the channel): Done: 118 delivered\n"
        "Textcast [APP] (replied to a thread): Done: 118 delivered\n"
    )


async def test_metadata_comes_back_with_the_message(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    metadata = {"event_type": "campaign_progress", "event_payload": {"campaign_id": 7}}
    posted = await client.chat_postMessage(channel=CAMPAIGNS, text="progress", metadata=metadata)
    assert posted["message"]["metadata"] == metadata
    assert slack.messages(CAMPAIGNS)[0].metadata == metadata
    history = await client.conversations_history(channel=CAMPAIGNS, include_all_metadata=True)
    assert history["messages"][0]["metadata"] == metadata
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=CAMPAIGNS, text="x", metadata={"payload": 1})
    assert raised.value.response["error"] == "invalid_metadata_format"


async def test_post_ephemeral_is_seen_by_one_person(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    await client.chat_postMessage(channel=CAMPAIGNS, text="Everyone sees this")
    response = await client.chat_postEphemeral(
        channel=CAMPAIGNS, user=BOB, text="Only you may not send campaigns"
    )
    assert response["message_ts"]
    assert [m.text for m in slack.messages(CAMPAIGNS)] == ["Everyone sees this"]
    assert [m.ephemeral_to for m in slack.ephemeral(CAMPAIGNS)] == [BOB]
    assert slack.ephemeral(CAMPAIGNS, ALICE) == []
    assert slack.transcript(CAMPAIGNS).splitlines()[-1] == (
        "Textcast [APP] (only visible to Bob Jones): Only you may not send campaigns"
    )
    # An ephemeral message is not in history, so it cannot be updated through chat.update.
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel=CAMPAIGNS, ts=response["message_ts"], text="changed")
    assert raised.value.response["error"] == "message_not_found"


async def test_post_ephemeral_to_someone_outside_the_channel(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    slack.add_channel("C0SMALL", "small", members={ALICE, "U0BOT"})
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postEphemeral(channel="C0SMALL", user=CAROL, text="hi")
    assert raised.value.response["error"] == "user_not_in_channel"


async def test_update_errors(slack: SlackSandbox, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel=CAMPAIGNS, ts="1700000000.000001", text="nothing here")
    assert raised.value.response["error"] == "message_not_found"
    theirs = slack.add_message(CAMPAIGNS, ALICE, "Alice's own words")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel=CAMPAIGNS, ts=theirs.ts, text="put words in her mouth")
    assert raised.value.response["error"] == "cant_update_message"
    assert slack.message(CAMPAIGNS, theirs.ts).text == "Alice's own words"


async def test_update_with_text_only_keeps_the_blocks(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Block text"}}]
    posted = await client.chat_postMessage(channel=CAMPAIGNS, text="fallback", blocks=blocks)
    await client.chat_update(channel=CAMPAIGNS, ts=posted["ts"], text="new fallback")
    message = slack.message(CAMPAIGNS, posted["ts"])
    assert message.text == "new fallback"
    assert message.blocks[0]["text"]["text"] == "Block text"
    await client.chat_update(channel=CAMPAIGNS, ts=posted["ts"], text="plain now", blocks=[])
    assert slack.message(CAMPAIGNS, posted["ts"]).blocks == []
    assert slack.transcript(CAMPAIGNS) == "#campaigns\nTextcast [APP] (edited): plain now\n"


async def test_posting_needs_membership_and_content(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=STAFF, text="not a member")
    assert raised.value.response["error"] == "not_in_channel"
    with pytest.raises(SlackApiError) as raised, pytest.warns(UserWarning, match="`text`"):
        await client.chat_postMessage(channel=CAMPAIGNS, text="")
    assert raised.value.response["error"] == "no_text"


async def test_blocks_are_checked_like_slack_does(client: AsyncWebClient) -> None:
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=CAMPAIGNS, text="t", blocks=too_long)
    assert raised.value.response["error"] == "invalid_blocks"
    messages = raised.value.response["response_metadata"]["messages"]
    assert messages == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]
    fine = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}]
    assert (await client.chat_postMessage(channel=CAMPAIGNS, text="t", blocks=fine))["ok"]


async def test_posting_to_a_user_id_goes_to_the_app_dm(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel=ALICE, text="Your campaign finished")
    assert posted["channel"] == "D0ALICE"
    opened = await client.conversations_open(users=ALICE)
    assert opened["channel"]["id"] == "D0ALICE"
    assert slack.transcript("D0ALICE") == (
        "DM with Alice Smith\nTextcast [APP]: Your campaign finished\n"
    )


async def test_conversations_open_opens_or_resumes_a_dm_as_slack_documents(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    first = await client.conversations_open(users=BOB)
    assert first["channel"] == {"id": "D0BOB"} and "already_open" not in first.data
    again = await client.conversations_open(users=f"{BOT_USER_ID},{BOB}")  # the caller is left out
    assert again["channel"] == {"id": "D0BOB"} and again["already_open"] and again["no_op"]
    resumed = await client.conversations_open(channel="D0BOB", return_im=True)
    assert resumed["channel"]["is_im"] is True and resumed["channel"]["user"] == BOB
    for arguments, error in [
        ({}, "users_list_not_supplied"),
        ({"users": "U0NOBODY"}, "user_not_found"),
        ({"channel": CAMPAIGNS}, "method_not_supported_for_channel_type"),
        ({"channel": "D0NOBODY"}, "channel_not_found"),
    ]:
        with pytest.raises(SlackApiError) as raised:
            await client.api_call("conversations.open", data=arguments)  # slack_sdk checks {}
        assert raised.value.response["error"] == error


async def test_a_method_outside_the_installed_scopes_is_missing_scope(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    slack.scopes = {"chat:write", "files:write"}  # installed from an older manifest
    with pytest.raises(SlackApiError) as raised:
        await client.conversations_open(users=ALICE)
    assert raised.value.response.data == {
        "ok": False, "error": "missing_scope", "needed": "im:write",
        "provided": "chat:write,files:write",
    }  # fmt: skip
    assert (await client.chat_postMessage(channel=ALICE, text="still fine"))["ok"]


async def test_a_file_shared_in_a_dm_is_in_that_dm_only(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    dm = (await client.conversations_open(users=ALICE))["channel"]["id"]
    await client.files_upload_v2(channel=dm, content="phone\n+447700900001\n",
                                 filename="list.csv", initial_comment="Your export")  # fmt: skip
    [posted] = slack.messages(dm)
    info = (await client.files_info(file=posted.files[0]))["file"]
    assert (info["ims"], info["channels"], info["groups"], info["is_public"]) == (
        [dm],
        [],
        [],
        False,
    )
    assert posted.text == "Your export" and not slack.messages(CAMPAIGNS)


async def test_delete_and_permalink(slack: SlackSandbox, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel=GENERAL, text="oops")
    link = await client.chat_getPermalink(channel=GENERAL, message_ts=posted["ts"])
    assert link["permalink"].endswith(f"/archives/{GENERAL}/p{posted['ts'].replace('.', '')}")
    await client.chat_delete(channel=GENERAL, ts=posted["ts"])
    assert slack.messages(GENERAL) == []


async def test_history_and_replies_read_back(slack: SlackSandbox, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel=CAMPAIGNS, text="first")
    await client.chat_postMessage(channel=CAMPAIGNS, thread_ts=parent["ts"], text="reply")
    await client.chat_postMessage(channel=CAMPAIGNS, text="second")
    history = await client.conversations_history(channel=CAMPAIGNS)
    assert [m["text"] for m in history["messages"]] == ["second", "first"]
    assert history["messages"][1]["reply_count"] == 1
    replies = await client.conversations_replies(channel=CAMPAIGNS, ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["first", "reply"]


async def test_response_url_posts_ephemeral_then_in_channel(slack: SlackSandbox) -> None:
    command = requests.slash_command("secret", "new", sandbox_url=slack.url, user_id=CAROL)
    url = command.payload["response_url"]
    webhook = AsyncWebhookClient(url)
    first = await webhook.send(text="Only Carol sees this")
    assert first.status_code == 200
    await webhook.send(text="Everyone sees this", response_type="in_channel")
    assert [m.text for m in slack.messages(CAMPAIGNS)] == ["Everyone sees this"]
    assert [m.text for m in slack.ephemeral(CAMPAIGNS, CAROL)] == ["Only Carol sees this"]
    assert [c.method for c in slack.calls()] == ["response_url", "response_url"]


async def test_response_url_replaces_the_clicked_message(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Send now?"}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "confirm",
                    "text": {"type": "plain_text", "text": "Send"},
                }
            ],
        },
    ]
    posted = await client.chat_postMessage(channel=CAMPAIGNS, text="Send now?", blocks=blocks)
    click = requests.block_actions(
        "secret",
        "confirm",
        message=slack.message(CAMPAIGNS, posted["ts"]),
        sandbox_url=slack.url,
    )
    webhook = AsyncWebhookClient(click.payload["response_url"])
    await webhook.send(text="Sending…", replace_original=True)
    assert slack.transcript(CAMPAIGNS) == "#campaigns\nTextcast [APP] (edited): Sending…\n"


async def test_response_urls_are_used_up_and_forged_ones_refused(slack: SlackSandbox) -> None:
    url = slack.response_url(CAMPAIGNS, ALICE)
    webhook = AsyncWebhookClient(url)
    statuses = [(await webhook.send(text=f"{n}")).status_code for n in range(6)]
    assert statuses == [200, 200, 200, 200, 200, 404]
    async with ClientSession() as session:
        forged = url[: url.rindex("/")] + "/0000"
        async with session.post(forged, json={"text": "hi"}) as response:
            assert response.status == 404
