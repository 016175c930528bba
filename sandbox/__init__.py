"""Local stand-ins for the Twilio REST API and the Slack Web API (later issue)."""
