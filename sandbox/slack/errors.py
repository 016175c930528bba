"""The error a Web API method answers with: `{"ok": false, "error": code}`, HTTP 200, as Slack does."""

from __future__ import annotations


class SlackError(Exception):
    """A Slack error code, with the `response_metadata.messages` Slack adds for invalid arguments."""

    def __init__(self, code: str, *messages: str) -> None:
        super().__init__(code)
        self.code = code
        self.messages = list(messages)

    def to_dict(self) -> dict:
        body: dict = {"ok": False, "error": self.code}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body
