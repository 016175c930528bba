"""`textcast sandbox` runs both stand-ins and prints how to point Textcast at them."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from slack_sdk.web.async_client import AsyncWebClient

from worker.twilio_client import close_twilio_client, create_twilio_client


async def test_textcast_sandbox_prints_settings_that_work_with_the_real_sdks() -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SLACK_", "SENDER_"))
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "textcast.cli", "sandbox", "--twilio-port", "0", "--slack-port", "0",
        stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    settings: dict[str, str] = {}
    try:
        async with asyncio.timeout(15):
            while "SLACK_NOTIFY_CHANNEL" not in settings:
                line = (await process.stdout.readline()).decode()
                assert line, "textcast sandbox exited early"
                if line.startswith("export "):
                    name, _, value = line.removeprefix("export ").strip().partition("=")
                    settings[name] = value
        twilio = create_twilio_client(
            settings["TWILIO_ACCOUNT_SID"],
            settings["TWILIO_AUTH_TOKEN"],
            settings["TWILIO_API_URL"],
        )
        try:
            sender = settings["SENDER_NUMBERS"].split(",")[0].split(":")[0]
            message = await twilio.messages.create_async(
                to="+447700900123", from_=sender, body="Hello"
            )
            assert message.sid.startswith("SM") and message.status == "queued"
        finally:
            await close_twilio_client(twilio)
        slack = AsyncWebClient(
            token=settings["SLACK_BOT_TOKEN"], base_url=settings["SLACK_API_URL"]
        )
        posted = await slack.chat_postMessage(channel=settings["SLACK_NOTIFY_CHANNEL"], text="hi")
        assert posted["ok"]
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 0
