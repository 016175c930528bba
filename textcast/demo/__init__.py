"""`textcast demo`: the whole system on one machine, with no accounts, playing one campaign.

SQLite in a temporary folder; Redis from REDIS_URL, or one of its own; the Slack and Twilio
stand-ins, the web process and a worker, each its own `textcast` process. The demo plays the
person in Slack (signed requests into the web process) and the patients' phones (texts through
the Twilio stand-in), and shows the channel as it changes.
"""

from textcast.demo.run import run_demo

__all__ = ["run_demo"]
