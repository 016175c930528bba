"""`textcast bot` listens where HOST says, and starts with Slack configured without the Slack
library's warnings about arguments it ignores."""

from __future__ import annotations

import asyncio
from pathlib import Path

from campaigns.db import Database
from tests.bot.bot_process import BotProcess, bot_process

SLACK = {
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_SIGNING_SECRET": "secret",
    "SLACK_API_URL": "http://127.0.0.1:9/api/",  # never called while starting
}


async def answers_on(bot: BotProcess, address: str) -> bool:
    """Whether a connection to `address` (any 127.x is this machine on Linux) is accepted."""
    try:
        _, writer = await asyncio.open_connection(address, bot.port)
    except ConnectionRefusedError:
        return False
    writer.close()
    return True


async def test_by_default_the_bot_listens_on_every_address(db: Database, tmp_path: Path) -> None:
    async with bot_process(db.url, tmp_path / "bot.log", **SLACK) as bot:
        assert await answers_on(bot, "127.0.0.1")
        assert await answers_on(bot, "127.0.0.2")
    logged = bot.logged()
    # Bolt's "As you gave `client` as well, `token` will be unused." and the like.
    assert "will be unused" not in logged and "will be ignored" not in logged, logged
    assert "WARNING" not in logged, logged


async def test_host_limits_the_bot_to_one_address(db: Database, tmp_path: Path) -> None:
    async with bot_process(db.url, tmp_path / "bot.log", HOST="127.0.0.1") as bot:
        assert await answers_on(bot, "127.0.0.1")
        assert not await answers_on(bot, "127.0.0.2")
    assert "address 127.0.0.1" in bot.logged()
