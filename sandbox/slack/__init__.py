"""A local stand-in for the Slack Web API, and builders of the signed requests Slack sends an app.

    from sandbox.slack import BOT_TOKEN, SIGNING_SECRET, start, requests

    slack = await start()                                  # 127.0.0.1, a free port
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.url)
    command = requests.slash_command(SIGNING_SECRET, "new", sandbox_url=slack.url)
    ...                                                    # POST it to the app under test
    print(slack.transcript("#campaigns"))
    await slack.stop()

Production code never imports this package.
"""

from sandbox.slack import requests
from sandbox.slack.app import SlackConfig, SlackSandbox, create_app, start
from sandbox.slack.context import SANDBOX
from sandbox.slack.errors import SlackError
from sandbox.slack.files import File
from sandbox.slack.history import Message
from sandbox.slack.ratelimit import SLACK_RATE_LIMITS, RateLimit
from sandbox.slack.recorder import Call
from sandbox.slack.scopes import MANIFEST_BOT_SCOPES
from sandbox.slack.socket_mode import SocketModeError
from sandbox.slack.triggers import issue_trigger_id
from sandbox.slack.workspace import (
    ALICE,
    APP_ID,
    APP_TOKEN,
    BOB,
    BOT_ID,
    BOT_NAME,
    BOT_TOKEN,
    BOT_USER_ID,
    CAMPAIGNS,
    CAROL,
    GENERAL,
    RANDOM,
    SENDERS_GROUP,
    SIGNING_SECRET,
    STAFF,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    VERIFICATION_TOKEN,
    Channel,
    User,
)

__all__ = [
    "ALICE",
    "APP_ID",
    "APP_TOKEN",
    "BOB",
    "BOT_ID",
    "BOT_NAME",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "CAMPAIGNS",
    "CAROL",
    "GENERAL",
    "MANIFEST_BOT_SCOPES",
    "RANDOM",
    "SANDBOX",
    "SENDERS_GROUP",
    "SIGNING_SECRET",
    "SLACK_RATE_LIMITS",
    "STAFF",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "TEAM_NAME",
    "VERIFICATION_TOKEN",
    "Call",
    "Channel",
    "File",
    "Message",
    "RateLimit",
    "SlackConfig",
    "SlackError",
    "SlackSandbox",
    "SocketModeError",
    "User",
    "create_app",
    "issue_trigger_id",
    "requests",
    "start",
]
