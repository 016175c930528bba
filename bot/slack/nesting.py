"""How deep a Slack payload nests, measured without recursion.

Slack's own payloads nest a dozen levels or so (a view's state, rich text lists, a message's
blocks). A signed body nested thousands deep makes the JSON parser raise RecursionError, and
one just under the parser's limit would make whatever walks it next (a log line, a copy) do so:
both are refused at the edge as malformed.
"""

from __future__ import annotations

# Far above anything Slack sends, far below Python's recursion limit (1,000).
MAX_PAYLOAD_DEPTH = 64


def nested_deeper_than(value: object, limit: int = MAX_PAYLOAD_DEPTH) -> bool:
    """Whether any list or object in `value` lies more than `limit` levels down."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
