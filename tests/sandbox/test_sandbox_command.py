"""`textcast sandbox` runs both stand-ins and prints how to point Textcast at them."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import twilio, usage
from sandbox.slack import SlackSandbox
from worker.twilio_client import close_twilio_client, create_twilio_client

README = Path(__file__).resolve().parents[2] / "README.md"


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


def test_sandbox_help_describes_each_option_and_the_routes_that_play_a_phone() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "textcast", "sandbox", "--help"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    for option in ("--host HOST", "--twilio-port TWILIO_PORT", "--slack-port SLACK_PORT"):
        described = re.search(rf"{option}\s+(\S.*)", shown)
        assert described and "default" in described.group(1), f"{option} is not described"
    for _, path, _ in usage.TWILIO_ROUTES + usage.SLACK_ROUTES:
        assert path in shown
    assert "POST     /sandbox/reply" in shown and "From (the phone)" in shown


def _served(app: aiohttp.web.Application) -> set[tuple[str, str]]:
    return {
        (route.method, route.resource.canonical) for route in app.router.routes() if route.resource
    }


async def test_every_route_the_help_names_is_one_the_stand_ins_serve() -> None:
    served = {
        "twilio": _served(twilio.create_app()),
        "slack": _served(SlackSandbox().app),
    }
    for name, routes in (("twilio", usage.TWILIO_ROUTES), ("slack", usage.SLACK_ROUTES)):
        for methods, path, _ in routes:
            for method in methods.split("|"):
                assert (method, path) in served[name], f"{method} {path} on the {name} stand-in"


async def test_the_help_s_example_texts_stop_from_a_phone() -> None:
    """The curl line of the help, form fields and all, as the stand-in takes it."""
    async with await twilio.start() as running, aiohttp.ClientSession() as http:
        example = usage.EXAMPLE.replace("http://127.0.0.1:8701", running.url)
        fields = dict(re.findall(r"-d (\w+)=(\S+)", example))
        assert set(fields) == {"From", "To", "Body"}
        url = re.search(r"(http://\S+)", example)
        assert url is not None
        async with http.post(url.group(1), data=fields) as answer:
            assert answer.status == 200, await answer.text()
            assert (await answer.json())["keyword"] == "opt-out"


def test_the_readme_documents_the_stand_ins_routes() -> None:
    text = README.read_text()
    heading = "### The stand-ins on their own: `textcast sandbox`"
    assert heading in text
    section = text.split(heading)[1].split("\n## ")[0]
    for _, path, _ in usage.TWILIO_ROUTES + usage.SLACK_ROUTES:
        assert path in section, f"README.md does not document {path}"
