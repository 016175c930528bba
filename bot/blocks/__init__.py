"""Block Kit messages as pure functions from data to `{"text": fallback, "blocks": [...]}`.

Nothing here talks to Slack: the web process and the worker render with these and send the
result themselves, and tests check the JSON against Slack's limits without a network.
"""
