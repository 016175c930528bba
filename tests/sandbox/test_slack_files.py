"""Files through the real slack_sdk client: files.info, the private URLs, files_upload_v2."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack import ALICE, BOT_TOKEN, CAMPAIGNS, TEAM_ID, SlackSandbox
from tests.sandbox.slack_fixtures import (  # noqa: F401
    client_fixture,
    slack_config_fixture,
    slack_fixture,
)

CSV = b"name,phone\nAda,+447700900001\nGrace,+447700900002\n"


async def test_files_info_describes_an_uploaded_csv(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    added = slack.add_file("people.csv", CSV, user=ALICE)
    info = (await client.files_info(file=added.id))["file"]
    assert info["id"] == added.id
    assert info["name"] == "people.csv"
    assert info["filetype"] == "csv"
    assert info["mimetype"] == "text/csv"
    assert info["size"] == len(CSV)
    assert info["user"] == ALICE
    assert info["url_private_download"] == (
        f"{slack.origin}/files-pri/{TEAM_ID}-{added.id}/download/people.csv"
    )
    assert slack.file_object(added.id) == info


async def test_an_unknown_file_is_file_not_found(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.files_info(file="F0MISSING")
    assert raised.value.response["error"] == "file_not_found"


async def test_the_bytes_need_the_bot_token(slack: SlackSandbox, client: AsyncWebClient) -> None:
    added = slack.add_file("people.csv", CSV)
    url = (await client.files_info(file=added.id))["file"]["url_private_download"]
    async with ClientSession() as session:
        async with session.get(url, headers={"Authorization": f"Bearer {BOT_TOKEN}"}) as response:
            assert response.status == 200
            assert response.content_type == "text/csv"
            assert await response.read() == CSV
        # Without the header Slack still says 200, with a sign-in page: callers must notice.
        async with session.get(url) as response:
            assert response.status == 200
            assert response.content_type == "text/html"
            assert b"Sign in" in await response.read()
        async with session.get(url, headers={"Authorization": "Bearer xoxb-wrong"}) as response:
            assert response.content_type == "text/html"
    downloads = slack.calls("file_download")
    assert [(c.args["authorized"], c.ok) for c in downloads] == [
        (True, True),
        (False, False),
        (False, False),
    ]


async def test_a_file_shared_in_a_channel_shows_in_the_transcript(slack: SlackSandbox) -> None:
    slack.add_file("people.csv", CSV, channel=CAMPAIGNS, comment="Here are the recipients")
    assert slack.transcript(CAMPAIGNS) == (
        "#campaigns\nAlice Smith:\n  Here are the recipients\n  [file: people.csv]\n"
    )


async def test_files_upload_v2_end_to_end(slack: SlackSandbox, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel=CAMPAIGNS, text="Spring sale: done")
    report = b"phone,status\n+447700900001,delivered\n"
    response = await client.files_upload_v2(
        channel=CAMPAIGNS,
        thread_ts=parent["ts"],
        filename="report.csv",
        content=report,
        title="Delivery report",
        initial_comment="Full report attached",
    )
    file = response["file"]
    assert file["title"] == "Delivery report"
    assert [c.method for c in slack.calls()][1:] == [
        "files.getUploadURLExternal",
        "upload_url",
        "files.completeUploadExternal",
    ]
    info = (await client.files_info(file=file["id"]))["file"]
    assert info["size"] == len(report)
    assert info["channels"] == [CAMPAIGNS]
    async with ClientSession() as session:
        headers = {"Authorization": f"Bearer {BOT_TOKEN}"}
        async with session.get(info["url_private_download"], headers=headers) as downloaded:
            assert await downloaded.read() == report
    [reply] = slack.thread(CAMPAIGNS, parent["ts"])
    assert reply.files == [file["id"]]
    assert slack.transcript(CAMPAIGNS) == (
        "#campaigns\n"
        "Textcast [APP]: Spring sale: done\n"
        "  ↳ Textcast [APP]:\n"
        "      Full report attached\n"
        "      [file: report.csv]\n"
    )


async def test_completing_an_upload_that_never_happened(client: AsyncWebClient) -> None:
    ticket = await client.files_getUploadURLExternal(filename="x.csv", length=3)
    with pytest.raises(SlackApiError) as raised:
        await client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}])
    assert raised.value.response["error"] == "file_not_found"
