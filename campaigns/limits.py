"""Textcast's fixed limits, in one place so that messages and checks agree."""

from datetime import timedelta

MAX_RECIPIENTS = 100_000
MAX_INPUT_BYTES = 10 * 1024 * 1024
MIN_SCHEDULE_AHEAD = timedelta(minutes=15)
MAX_SCHEDULE_AHEAD = timedelta(days=7)
MAX_BODY_CHARS = 1_600  # Twilio refuses longer bodies (error 21617)
