"""A Web API call's arguments, read the way Slack reads them.

slack_sdk sends some methods as JSON (where `blocks` is a list and absent values may be null) and
others as a form or a query string (where `blocks` is a JSON-encoded string and booleans are "1").
Args hides the difference from the method handlers.
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.slack.errors import SlackError

_TRUE = {"1", "true", "yes", "on"}


class Args:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = {k: v for k, v in values.items() if v is not None}

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, (dict, list)):
            raise SlackError("invalid_arguments", f"[ERROR] {name} must be a string")
        return str(value)

    def required(self, name: str, error: str | None = None) -> str:
        """A string argument that must be there: Slack's own error code if it has one for it."""
        value = self.text(name)
        if value is None:
            if error:
                raise SlackError(error)
            raise SlackError("invalid_arguments", f"[ERROR] missing required field: {name}")
        return value

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in _TRUE if value is not None else False

    def number(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments", f"[ERROR] {name} must be an integer") from None

    def structured(self, name: str, *, error: str = "invalid_arguments") -> Any:
        """A structured argument: taken as is from a JSON body, decoded from a form field."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if value.strip() == "":
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise SlackError(error, f"[ERROR] {name} is not valid JSON") from None

    def decoded(self, structured: tuple[str, ...]) -> dict[str, Any]:
        """The arguments with the structured ones decoded, for the call log."""
        out = dict(self.values)
        for name in structured:
            if isinstance(out.get(name), str):
                try:
                    out[name] = json.loads(out[name])
                except json.JSONDecodeError:
                    pass
        return out
