"""Fixtures of tests/sandbox. The Twilio stand-in's live in twilio_fixtures.py."""

from tests.sandbox.twilio_fixtures import twilio_sandbox, webhooks  # noqa: F401
