"""The Slack app (slack_bolt's AsyncApp) on the web process, at POST /slack/events.

`app.py` builds it from the settings and mounts it; its listeners are registered by Slack concept:
`actions.py` for buttons.
"""

from bot.slack.app import create_slack_app, register

__all__ = ["create_slack_app", "register"]
