"""`textcast sandbox`: run the Twilio and Slack stand-ins together until interrupted."""

from __future__ import annotations

from bot.app import until_stopped
from campaigns.settings import Settings, parse_sender_numbers
from sandbox import slack, twilio

DEFAULT_SENDERS = "+14155550100:5,+14155550101:5"


def instructions(twilio_running: twilio.RunningTwilioSandbox, slack_url: str, senders: str) -> str:
    """How to point Textcast at the stand-ins, ready to paste into a shell or `.env`."""
    return "\n".join(
        [
            f"Twilio stand-in: {twilio_running.url}  (messages, faults: {twilio_running.url}/sandbox/messages)",
            f"Slack stand-in:  {slack_url}",
            "",
            "Point Textcast at them (shell, or a .env file without 'export'):",
            f"export TWILIO_API_URL={twilio_running.url}",
            f"export TWILIO_ACCOUNT_SID={twilio_running.account_sid}",
            f"export TWILIO_AUTH_TOKEN={twilio_running.auth_token}",
            f"export SENDER_NUMBERS={senders}",
            f"export SLACK_API_URL={slack_url}",
            f"export SLACK_BOT_TOKEN={slack.BOT_TOKEN}",
            f"export SLACK_SIGNING_SECRET={slack.SIGNING_SECRET}",
            f"export SLACK_APP_TOKEN={slack.APP_TOKEN}  # for textcast bot --socket",
            f"export SLACK_NOTIFY_CHANNEL={slack.CAMPAIGNS}",
        ]
    )


async def serve(settings: Settings, host: str, twilio_port: int, slack_port: int) -> None:
    senders = settings.SENDER_NUMBERS or parse_sender_numbers(DEFAULT_SENDERS)
    numbers = {sender.phone: float(sender.mps) for sender in senders}
    config = twilio.SandboxConfig.from_settings(settings, numbers=numbers)
    if settings.PUBLIC_BASE_URL:
        config.inbound_url = f"{settings.PUBLIC_BASE_URL}/twilio/inbound"
    twilio_running = await twilio.start(host, twilio_port, config)
    slack_running = await slack.start(host, slack_port)
    try:
        listed = ",".join(f"{sender.phone}:{sender.mps}" for sender in senders)
        print(instructions(twilio_running, slack_running.url, listed), flush=True)
        await until_stopped()
    finally:
        await slack_running.stop()
        await twilio_running.stop()
