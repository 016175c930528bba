"""Alice, as the demo plays her: what she does in Slack, sent to the web process as the signed
requests Slack would send, and what she sees, read back from the Slack stand-in over HTTP."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import aiohttp

from sandbox.slack import ALICE, CAMPAIGNS, SIGNING_SECRET, requests


class StuckError(RuntimeError):
    """What the demo waited for did not happen in time; the message says what."""


class Person:
    def __init__(
        self, http: aiohttp.ClientSession, slack_origin: str, web_url: str, user: str = ALICE
    ) -> None:
        self.http = http
        self.slack = slack_origin
        self.web = web_url
        self.user = user

    @property
    def api_url(self) -> str:
        return f"{self.slack}/api/"

    async def _post(self, request: requests.SlackRequest) -> str:
        async with self.http.post(
            f"{self.web}/slack/events", data=request.body, headers=request.headers
        ) as answer:
            body = await answer.text()
            if answer.status != 200:
                raise StuckError(f"Textcast answered Slack with {answer.status}: {body[:200]}")
            return body

    async def command(self, text: str, channel: str = CAMPAIGNS) -> None:
        """She types `/sms TEXT` in the channel."""
        await self._post(
            requests.slash_command(
                SIGNING_SECRET, text, user_id=self.user, channel_id=channel,
                sandbox_url=self.api_url,
            )
        )  # fmt: skip

    async def upload(self, name: str, data: bytes) -> dict[str, Any]:
        """She picks a file in a file input: Slack stores it; the form then carries its object."""
        url = f"{self.slack}/_sandbox/files?name={quote(name)}&user={self.user}"
        async with self.http.post(url, data=data) as answer:
            answer.raise_for_status()
            return dict(await answer.json())

    async def modals(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.slack}/_sandbox/views/{self.user}") as answer:
            answer.raise_for_status()
            return list(await answer.json())

    async def modal(self, callback_id: str, timeout: float = 15.0) -> dict[str, Any]:
        """The modal on top once it is the one called `callback_id`."""

        async def on_top() -> dict[str, Any] | None:
            stack = await self.modals()
            return stack[-1] if stack and stack[-1].get("callback_id") == callback_id else None

        return await until(on_top, f"the {callback_id} modal", timeout)

    async def top_modal(self) -> dict[str, Any] | None:
        stack = await self.modals()
        return stack[-1] if stack else None

    async def new_modal(self, before: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
        """The modal on top once it is another than `before` (what was on top until then)."""

        async def opened() -> dict[str, Any] | None:
            top = await self.top_modal()
            return top if top and (before is None or top["id"] != before["id"]) else None

        return await until(opened, "a modal to open", timeout)

    async def submit(self, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """She fills in `values` and presses the submit button; the errors shown, if any."""
        body = await self._post(
            requests.view_submission(
                SIGNING_SECRET, view, values, user_id=self.user, sandbox_url=self.api_url
            )
        )
        url = f"{self.slack}/_sandbox/views/{view['id']}/answer"
        async with self.http.post(url, data=body.encode()) as answer:
            answer.raise_for_status()
            return dict((await answer.json())["errors"])

    async def click_in_modal(self, view: dict[str, Any], action_id: str) -> None:
        await self._post(
            requests.block_actions(
                SIGNING_SECRET, action_id, view=view, user_id=self.user, sandbox_url=self.api_url
            )
        )

    async def click(self, message: dict[str, Any], action_id: str) -> None:
        """She clicks the button `action_id` on a message in a channel."""
        await self._post(
            requests.block_actions(
                SIGNING_SECRET, action_id, message=message, channel_id=message["channel"],
                user_id=self.user, sandbox_url=self.api_url,
            )
        )  # fmt: skip

    async def messages(self, channel: str = CAMPAIGNS) -> list[dict[str, Any]]:
        """Every message in the channel, threads included, oldest first."""
        async with self.http.get(f"{self.slack}/_sandbox/messages/{channel}") as answer:
            answer.raise_for_status()
            return list(await answer.json())

    async def sees(self, channel: str = CAMPAIGNS) -> str:
        """The channel as she reads it, in plain text."""
        async with self.http.get(f"{self.slack}/_sandbox/transcript/{channel}") as answer:
            answer.raise_for_status()
            return await answer.text()


def with_button(messages: list[dict[str, Any]], action_id: str, text: str) -> dict[str, Any] | None:
    """The newest message with the button `action_id` whose blocks mention `text`."""
    for message in reversed(messages):
        blocks = json.dumps(message.get("blocks") or [])
        if f'"action_id": "{action_id}"' in blocks and text in blocks:
            return message
    return None


async def until(check: Any, what: str, timeout: float) -> Any:
    """Poll `check()` until it returns something truthy, or StuckError naming `what`."""
    try:
        async with asyncio.timeout(timeout):
            while not (found := await check()):
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise StuckError(f"waited {timeout:.0f} s for {what}") from None
    return found
