"""views.* through the real slack_sdk client: triggers, hashes, stacks, App Home; and a real Bolt app
opening a modal from a signed slash command."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession, web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack import (
    ALICE,
    BOB,
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackConfig,
    SlackSandbox,
    issue_trigger_id,
    requests,
)
from tests.sandbox.slack_fixtures import (  # noqa: F401
    client_fixture,
    slack_config_fixture,
    slack_fixture,
)


def modal(
    title: str = "New campaign", *, callback_id: str = "campaign_new", **more: object
) -> dict:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Preview"},
        "blocks": [
            {
                "type": "input",
                "block_id": "message",
                "label": {"type": "plain_text", "text": "Message"},
                "element": {"type": "plain_text_input", "action_id": "body", "multiline": True},
            }
        ],
        **more,
    }


async def test_views_open_with_a_fresh_trigger_from_a_slash_command(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    command = requests.slash_command(SIGNING_SECRET, "new", user_id=BOB)
    opened = await client.views_open(
        trigger_id=command.payload["trigger_id"], view=modal(private_metadata="draft-1")
    )
    view = opened["view"]
    assert view["id"].startswith("V")
    assert view["type"] == "modal"
    assert view["callback_id"] == "campaign_new"
    assert view["private_metadata"] == "draft-1"
    assert view["state"] == {"values": {}}
    assert view["root_view_id"] == view["id"]
    assert view["previous_view_id"] is None
    assert view["hash"]
    assert view["blocks"][0]["block_id"] == "message"
    assert slack.modal_stack(BOB) == [view]
    assert slack.modal_stack(ALICE) == []


async def test_an_old_trigger_is_expired(client: AsyncWebClient) -> None:
    stale = issue_trigger_id(ALICE, issued_at=time.time() - 3.5)
    with pytest.raises(SlackApiError) as raised:
        await client.views_open(trigger_id=stale, view=modal())
    assert raised.value.response["error"] == "expired_trigger_id"


class TestATriggerWindowOfZero:
    @pytest.fixture(name="slack_config")
    def zero_ttl(self) -> SlackConfig:
        return SlackConfig(trigger_ttl=0)

    async def test_even_a_new_trigger_is_expired(self, client: AsyncWebClient) -> None:
        command = requests.slash_command(SIGNING_SECRET, "new")
        with pytest.raises(SlackApiError) as raised:
            await client.views_open(trigger_id=command.payload["trigger_id"], view=modal())
        assert raised.value.response["error"] == "expired_trigger_id"


async def test_an_invented_trigger_is_invalid(client: AsyncWebClient) -> None:
    issued = issue_trigger_id(ALICE)
    for forged in ("12345.98765.abcd2358fdea", issued[:-1] + ("0" if issued[-1] != "0" else "1")):
        with pytest.raises(SlackApiError) as raised:
            await client.views_open(trigger_id=forged, view=modal())
        assert raised.value.response["error"] == "invalid_trigger_id"


async def test_a_trigger_is_exchanged_once(client: AsyncWebClient) -> None:
    trigger_id = issue_trigger_id(ALICE)
    await client.views_open(trigger_id=trigger_id, view=modal())
    with pytest.raises(SlackApiError) as raised:
        await client.views_open(trigger_id=trigger_id, view=modal())
    assert raised.value.response["error"] == "exchanged_trigger_id"


async def test_a_view_slack_would_refuse(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.views_open(
            trigger_id=issue_trigger_id(ALICE), view=modal("A title far longer than Slack allows")
        )
    assert raised.value.response["error"] == "invalid_arguments"
    assert raised.value.response["response_metadata"]["messages"] == [
        "[ERROR] must be between 1 and 24 characters [json-pointer:/view/title/text]"
    ]
    no_submit = modal()
    del no_submit["submit"]
    with pytest.raises(SlackApiError) as raised:
        await client.views_open(trigger_id=issue_trigger_id(ALICE), view=no_submit)
    assert raised.value.response["error"] == "invalid_arguments"


async def test_views_update_checks_the_hash(slack: SlackSandbox, client: AsyncWebClient) -> None:
    opened = (await client.views_open(trigger_id=issue_trigger_id(ALICE), view=modal()))["view"]
    with pytest.raises(SlackApiError) as raised:
        await client.views_update(
            view_id=opened["id"], hash="1569262015.00000000", view=modal("Stale")
        )
    assert raised.value.response["error"] == "hash_conflict"
    assert slack.view(opened["id"])["title"]["text"] == "New campaign"

    updated = (
        await client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Preview"))
    )["view"]
    assert updated["id"] == opened["id"]
    assert updated["title"]["text"] == "Preview"
    assert updated["hash"] != opened["hash"]
    with pytest.raises(SlackApiError) as raised:  # the old hash is stale now
        await client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Again"))
    assert raised.value.response["error"] == "hash_conflict"


async def test_views_update_by_external_id_and_not_found(client: AsyncWebClient) -> None:
    await client.views_open(trigger_id=issue_trigger_id(ALICE), view=modal(external_id="draft-9"))
    updated = await client.views_update(external_id="draft-9", view=modal("Checked"))
    assert updated["view"]["title"]["text"] == "Checked"
    assert updated["view"]["external_id"] == "draft-9"
    with pytest.raises(SlackApiError) as raised:
        await client.views_update(view_id="V0NOPE", view=modal())
    assert raised.value.response["error"] == "not_found"
    with pytest.raises(SlackApiError) as raised:
        await client.views_open(trigger_id=issue_trigger_id(BOB), view=modal(external_id="draft-9"))
    assert raised.value.response["error"] == "duplicate_external_id"


async def test_views_push_stacks_up_to_three(slack: SlackSandbox, client: AsyncWebClient) -> None:
    root = (await client.views_open(trigger_id=issue_trigger_id(ALICE), view=modal()))["view"]
    second = (await client.views_push(trigger_id=issue_trigger_id(ALICE), view=modal("Two")))[
        "view"
    ]
    assert second["root_view_id"] == root["id"]
    assert second["previous_view_id"] == root["id"]
    third = (await client.views_push(trigger_id=issue_trigger_id(ALICE), view=modal("Three")))[
        "view"
    ]
    assert third["previous_view_id"] == second["id"]
    assert [v["id"] for v in slack.modal_stack(ALICE)] == [root["id"], second["id"], third["id"]]
    with pytest.raises(SlackApiError) as raised:
        await client.views_push(trigger_id=issue_trigger_id(ALICE), view=modal("Four"))
    assert raised.value.response["error"] == "push_limit_reached"
    slack.close_view(ALICE)
    assert len(slack.modal_stack(ALICE)) == 2


async def test_views_push_without_an_open_modal(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.views_push(trigger_id=issue_trigger_id(BOB), view=modal())
    assert raised.value.response["error"] == "not_found"


async def test_views_publish_app_home(slack: SlackSandbox, client: AsyncWebClient) -> None:
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Your campaigns*"}}],
    }
    first = (await client.views_publish(user_id=ALICE, view=home))["view"]
    assert first["type"] == "home"
    again = (await client.views_publish(user_id=ALICE, view=home, hash=first["hash"]))["view"]
    assert again["id"] == first["id"]
    with pytest.raises(SlackApiError) as raised:
        await client.views_publish(user_id=ALICE, view=home, hash=first["hash"])
    assert raised.value.response["error"] == "hash_conflict"
    assert slack.home_view(ALICE) == again
    with pytest.raises(SlackApiError) as raised:
        await client.views_publish(user_id=ALICE, view=modal())
    assert raised.value.response["error"] == "invalid_arguments"


# -- a real Bolt app, reached over HTTP with the signed requests the builders make


@pytest.fixture(name="bolt_url")
async def bolt_url_fixture(slack: SlackSandbox) -> AsyncIterator[str]:
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=slack.url),
        signing_secret=SIGNING_SECRET,
        process_before_response=True,
    )

    @app.command("/sms")
    async def sms(ack, body, client) -> None:  # type: ignore[no-untyped-def]
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=modal())

    @app.view("campaign_new")
    async def submitted(ack, view, client) -> None:  # type: ignore[no-untyped-def]
        body = view["state"]["values"]["message"]["body"]["value"]
        await ack()
        await client.chat_postMessage(channel="#campaigns", text=f"Draft: {body}")

    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/slack/events"
    finally:
        await runner.cleanup()


async def test_a_bolt_app_opens_and_receives_a_modal(slack: SlackSandbox, bolt_url: str) -> None:
    async with ClientSession() as session:
        command = requests.slash_command(SIGNING_SECRET, "new", sandbox_url=slack.url)
        async with session.post(bolt_url, data=command.body, headers=command.headers) as response:
            assert response.status == 200
        [view] = slack.modal_stack(command.payload["user_id"])
        submission = requests.view_submission(SIGNING_SECRET, view, {"body": "Hello {{name}}"})
        async with session.post(
            bolt_url, data=submission.body, headers=submission.headers
        ) as response:
            assert response.status == 200
        forged = requests.slash_command("not-the-secret", "new")
        async with session.post(bolt_url, data=forged.body, headers=forged.headers) as response:
            assert response.status == 401
    assert [c.method for c in slack.calls() if c.method != "auth.test"] == [
        "views.open",
        "chat.postMessage",
    ]
    assert slack.transcript("#campaigns") == "#campaigns\nTextcast [APP]: Draft: Hello {{name}}\n"
