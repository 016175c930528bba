"""The web process: Slack, Twilio webhooks, the HTTP API and health checks (later issues)."""
