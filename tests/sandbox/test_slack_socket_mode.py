"""The Slack stand-in's Socket Mode, as Slack documents it: apps.connections.open with an app-level
token, hello, envelopes acknowledged by envelope_id (with a payload when the app answers), and
disconnect on refresh. The app's side is played by a bare WebSocket, and then by slack_sdk's own
Socket Mode client, so both the protocol and the SDK's reading of it are checked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack import (
    APP_ID,
    APP_TOKEN,
    BOT_TOKEN,
    CAMPAIGNS,
    SIGNING_SECRET,
    SlackSandbox,
    SocketModeError,
    requests,
)
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def open_url(slack: SlackSandbox) -> str:
    response = await AsyncWebClient(base_url=slack.url).apps_connections_open(app_token=APP_TOKEN)
    return response["url"]


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


# -- apps.connections.open


async def test_connections_open_gives_a_websocket_url_for_the_app_token(
    slack: SlackSandbox,
) -> None:
    url = await open_url(slack)
    origin = slack.origin.removeprefix("http://")
    assert url.startswith(f"ws://{origin}/link/?ticket=")
    assert url.endswith(f"&app_id={APP_ID}")
    assert url != await open_url(slack)  # a fresh ticket each time
    [first, _] = slack.calls("apps.connections.open")
    assert first.ok and first.response == {"ok": True, "url": url}


@pytest.mark.parametrize(
    ("token", "error"),
    [(BOT_TOKEN, "not_allowed_token_type"), ("xapp-1-A0OTHER-1-nope", "invalid_auth")],
)
async def test_connections_open_refuses_other_tokens(
    slack: SlackSandbox, token: str, error: str
) -> None:
    with pytest.raises(SlackApiError) as refused:
        await AsyncWebClient(base_url=slack.url).apps_connections_open(app_token=token)
    assert refused.value.response["error"] == error
    assert slack.socket_mode.tickets == set()


async def test_the_app_token_opens_connections_and_nothing_else(slack: SlackSandbox) -> None:
    with pytest.raises(SlackApiError) as refused:
        await AsyncWebClient(token=APP_TOKEN, base_url=slack.url).chat_postMessage(
            channel=CAMPAIGNS, text="hi"
        )
    assert refused.value.response["error"] == "not_allowed_token_type"
    assert slack.messages(CAMPAIGNS) == []


# -- the WebSocket


async def test_hello_comes_first_and_counts_the_connections(
    slack: SlackSandbox, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(await open_url(slack)) as first:
        hello = await first.receive_json(timeout=2)
        assert hello["type"] == "hello"
        assert hello["num_connections"] == 1
        assert hello["connection_info"] == {"app_id": APP_ID}
        assert hello["debug_info"]["approximate_connection_time"] == 3600
        assert {"host", "started", "build_number"} <= set(hello["debug_info"])
        async with http.ws_connect(await open_url(slack) + "&debug_reconnects=true") as second:
            hello = await second.receive_json(timeout=2)
            assert hello["num_connections"] == 2
            assert hello["debug_info"]["approximate_connection_time"] == 360
            assert slack.socket_connections() == 2
    await until(lambda: slack.socket_connections() == 0)


async def test_a_url_opens_one_connection_and_an_invented_one_none(
    slack: SlackSandbox, http: aiohttp.ClientSession
) -> None:
    url = await open_url(slack)
    async with http.ws_connect(url) as socket:
        await socket.receive_json(timeout=2)
        for spent in (url, url.replace("ticket=", "ticket=x")):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(spent)
            assert refused.value.status == 401
        assert slack.socket_connections() == 1


async def test_an_interaction_is_acked_with_the_apps_answer(
    slack: SlackSandbox, http: aiohttp.ClientSession
) -> None:
    submission = requests.view_submission(
        SIGNING_SECRET,
        {"id": "V1", "type": "modal", "callback_id": "new", "blocks": []},
    )
    async with http.ws_connect(await open_url(slack)) as socket:
        await socket.receive_json(timeout=2)
        sending = asyncio.create_task(slack.socket_send("interactive", submission.payload))
        envelope = await socket.receive_json(timeout=2)
        assert set(envelope) == {"envelope_id", "type", "payload", "accepts_response_payload"}
        assert envelope["type"] == "interactive"
        assert envelope["payload"] == submission.payload  # what HTTP would have carried
        assert envelope["accepts_response_payload"] is True
        await socket.send_str("not json: ignored, as Slack ignores it")
        await socket.send_json({"envelope_id": "someone-elses", "payload": {"x": 1}})
        answer = {"response_action": "errors", "errors": {"name": "Give it a name"}}
        await socket.send_json({"envelope_id": envelope["envelope_id"], "payload": answer})
        assert await sending == answer


async def test_an_event_carries_its_retry_fields_and_takes_a_bare_ack(
    slack: SlackSandbox, http: aiohttp.ClientSession
) -> None:
    event = requests.app_mention(SIGNING_SECRET, "status?")
    async with http.ws_connect(await open_url(slack)) as socket:
        await socket.receive_json(timeout=2)
        sending = asyncio.create_task(
            slack.socket_send("events_api", event.payload, retry_attempt=1, retry_reason="timeout")
        )
        envelope = await socket.receive_json(timeout=2)
        assert envelope["type"] == "events_api"
        assert envelope["accepts_response_payload"] is False
        assert (envelope["retry_attempt"], envelope["retry_reason"]) == (1, "timeout")
        assert envelope["payload"]["event"]["type"] == "app_mention"
        await socket.send_json({"envelope_id": envelope["envelope_id"]})
        assert await sending == {}


async def test_without_an_app_or_an_ack_the_envelope_fails(
    slack: SlackSandbox, http: aiohttp.ClientSession
) -> None:
    command = requests.slash_command(SIGNING_SECRET, "new")
    with pytest.raises(SocketModeError, match="no app is connected"):
        await slack.socket_send("slash_commands", command.payload)
    async with http.ws_connect(await open_url(slack)) as socket:
        await socket.receive_json(timeout=2)
        with pytest.raises(SocketModeError, match="did not acknowledge slash_commands envelope"):
            await slack.socket_send("slash_commands", command.payload, timeout=0.2)
        sending = asyncio.create_task(slack.socket_send("slash_commands", command.payload))
        await socket.receive_json(timeout=2)
        await socket.close()  # gone before acknowledging
        with pytest.raises(SocketModeError, match="closed before"):
            await sending
    assert slack.socket_mode.acks == {}


async def test_disconnect_asks_the_app_to_move_and_then_closes(
    slack: SlackSandbox, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(await open_url(slack)) as old:
        await old.receive_json(timeout=2)
        await slack.socket_disconnect(close_after=0.2)
        assert await old.receive_json(timeout=2) == {
            "type": "disconnect",
            "reason": "refresh_requested",
            "debug_info": {"host": "applink-sandbox"},
        }
        async with http.ws_connect(await open_url(slack)) as new:
            await new.receive_json(timeout=2)
            # While both are open, envelopes go to the new one only.
            event = requests.app_mention(SIGNING_SECRET, "hi")
            for _ in range(2):
                sending = asyncio.create_task(slack.socket_send("events_api", event.payload))
                envelope = await new.receive_json(timeout=2)
                await new.send_json({"envelope_id": envelope["envelope_id"]})
                await sending
            closing = await old.receive(timeout=2)
            assert closing.type == aiohttp.WSMsgType.CLOSE
            assert closing.data == aiohttp.WSCloseCode.GOING_AWAY
            await until(lambda: slack.socket_connections() == 1)


# -- slack_sdk's own client against it


async def test_slack_sdks_client_acks_and_reconnects_on_refresh(slack: SlackSandbox) -> None:
    client = SocketModeClient(
        app_token=APP_TOKEN, web_client=AsyncWebClient(base_url=slack.url), ping_interval=5
    )
    received: list[dict[str, Any]] = []

    async def answer(client: SocketModeClient, request: SocketModeRequest) -> None:
        received.append(request.payload)
        reply = {"text": f"got {request.payload['text']!r}"}
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id, reply))

    client.socket_mode_request_listeners.append(answer)  # type: ignore[arg-type]
    try:
        await client.connect()
        await until(lambda: slack.socket_connections() == 1)
        command = requests.slash_command(SIGNING_SECRET, "status")
        assert await slack.socket_send("slash_commands", command.payload) == {
            "text": "got 'status'"
        }

        await slack.socket_disconnect()
        await until(lambda: len(slack.calls("apps.connections.open")) == 2)
        # The client closed the old one, and holds the new one: one open connection alone may
        # still be the old one, before the new one is made (the next envelope went to it, and
        # the client closed it unacknowledged: CI18, loaded).
        await until(slack.socket_moved_on)
        command = requests.slash_command(SIGNING_SECRET, "again")
        assert await slack.socket_send("slash_commands", command.payload) == {"text": "got 'again'"}
        assert [payload["text"] for payload in received] == ["status", "again"]
    finally:
        await client.close()
    await until(lambda: slack.socket_connections() == 0)
