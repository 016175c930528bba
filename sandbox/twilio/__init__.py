"""A local stand-in for Twilio's Messaging REST API, for tests, the demo and benchmarks.

Point the real twilio SDK at it (`worker.twilio_client.create_twilio_client(sid, token, url)`):

    running = await start(config=SandboxConfig(numbers={"+14155550100": 5}))
    client = create_twilio_client(running.account_sid, running.auth_token, running.url)
    ...
    running.sandbox.set_faults(rate_429=0.1)          # inject faults while it runs
    await running.sandbox.reply("+447700900123", "+14155550100", "STOP")
    await running.sandbox.settled()                    # every message final, callbacks posted
    assert running.sandbox.duplicates() == []
    assert running.sandbox.max_in_window("+14155550100") <= 5
    await running.stop()

`create_app(config)` gives the aiohttp application alone (for `web.run_app` or an AppRunner).
"""

from sandbox.twilio.account import Reply, TwilioSandbox
from sandbox.twilio.app import SANDBOX, RunningTwilioSandbox, create_app, start
from sandbox.twilio.callbacks import WebhookAnswer
from sandbox.twilio.config import (
    CARRIER_ERRORS,
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_NUMBER,
    CarrierConfig,
    Faults,
    RecipientFailure,
    SandboxConfig,
)
from sandbox.twilio.errors import TwilioApiError
from sandbox.twilio.handsets import HELP_KEYWORDS, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS
from sandbox.twilio.signing import signature
from sandbox.twilio.store import CallbackAttempt, Duplicate, Message, StatusChange

__all__ = [
    "CARRIER_ERRORS",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_NUMBER",
    "HELP_KEYWORDS",
    "OPT_IN_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "SANDBOX",
    "CallbackAttempt",
    "CarrierConfig",
    "Duplicate",
    "Faults",
    "Message",
    "RecipientFailure",
    "Reply",
    "RunningTwilioSandbox",
    "SandboxConfig",
    "StatusChange",
    "TwilioApiError",
    "TwilioSandbox",
    "WebhookAnswer",
    "create_app",
    "signature",
    "start",
]
