"""What `textcast sandbox --help` says about the stand-ins: the routes a person calls to play a
phone or look into Slack. Plain text importing nothing heavy, so the command line can show it without
loading aiohttp; tests/sandbox/test_usage.py checks each route against the running apps."""

from __future__ import annotations

import textwrap

DESCRIPTION = """\
Runs local stand-ins for the Twilio and Slack APIs, on your machine, with no account, and prints
the settings that point Textcast at them. They answer as Twilio and Slack do (Twilio's Messages
API, Slack's Web API with its rate limits and scopes) and add routes of their own to play the
recipients' phones and to see what Slack shows.

The Twilio stand-in owns the numbers in SENDER_NUMBERS (by default +14155550100 and
+14155550101); a text sent to one of them is posted, signed, to PUBLIC_BASE_URL/twilio/inbound
when PUBLIC_BASE_URL is set (or to the address given to /sandbox/inbound-url)."""

TWILIO_ROUTES = (
    (
        "POST",
        "/sandbox/reply",
        "a phone texts one of our numbers: JSON or form fields From (the "
        "phone), To (our number), Body; STOP, START and HELP work as on Twilio",
    ),
    (
        "GET",
        "/sandbox/messages",
        "every message, sent and received, with its status history (?to=+1... for one phone)",
    ),
    ("GET", "/sandbox/summary", "counts, numbers texted twice, pacing per number"),
    (
        "GET|POST",
        "/sandbox/carrier",
        "how delivery goes: JSON fields such as step_delay (seconds "
        'between statuses), failure_rate or recipient_failures ({"+15105550117": {"code": 30003}}: that phone is switched off)',
    ),
    (
        "GET|POST",
        "/sandbox/faults",
        "make Twilio's API misbehave: JSON fields such as rate_429 "
        "(a share of sends refused as too many), latency_ms, read_latency_ms (slow lists), "
        "drop_rate (connections cut)",
    ),
    ("POST", "/sandbox/inbound-url", 'where texts to our numbers are posted: {"url": ...}'),
    ("POST", "/sandbox/reset", "forget messages, opt-outs and queues"),
)

SLACK_ROUTES = (
    (
        "GET",
        "/_sandbox/transcript/{channel}",
        "a channel as a person reads it, in plain text (channel id or name, e.g. C0CAMPAIGNS)",
    ),
    ("GET", "/_sandbox/messages/{channel}", "the channel's messages and threads as JSON"),
    ("GET", "/_sandbox/views/{user}", "the modals open for a person (U0ALICE), as JSON"),
    ("GET", "/_sandbox/calls", "every Web API call Textcast made (?method=chat.postMessage)"),
    (
        "POST",
        "/_sandbox/files",
        "upload a file as a person would (?name=people.csv, the bytes "
        "as the body): its file object, for a form's file field",
    ),
    (
        "POST",
        "/_sandbox/views/{view_id}/answer",
        "apply Textcast's answer to a form submission, as Slack does",
    ),
    ("POST", "/_sandbox/reset", "forget messages, calls, modals and files"),
)

EXAMPLE = """\
For example, the phone +15105550115 answers a campaign sent from +14155550100:
  curl -X POST http://127.0.0.1:8701/sandbox/reply \\
    -d From=+15105550115 -d To=+14155550100 -d Body=STOP"""


def _lines(title: str, routes: tuple[tuple[str, str, str], ...]) -> list[str]:
    lines = [title]
    for method, path, what in routes:
        lines.append(f"  {method:<8} {path}")
        lines.append(textwrap.fill(what, 95, initial_indent=" " * 11, subsequent_indent=" " * 11))
    return lines


def epilog() -> str:
    """The routes and an example, for the end of `textcast sandbox --help`."""
    return "\n".join(
        [
            *_lines("Twilio stand-in routes (on --twilio-port):", TWILIO_ROUTES),
            "",
            *_lines("Slack stand-in routes (on --slack-port):", SLACK_ROUTES),
            "",
            EXAMPLE,
        ]
    )
