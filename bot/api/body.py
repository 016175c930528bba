"""An API request's JSON body, read safely: syntax, nesting and text checked before any rule.

JSON can carry what no campaign may hold: `"\\u0000"` (PostgreSQL refuses NUL in text) and a lone
`"\\udc00"` (half a surrogate pair, which cannot be encoded to send). Both are refused here with
the path of the value, anywhere in the body, keys included. Runs in the CPU pool (`off_loop`):
a 10 MB body takes a noticeable time to read.
"""

from __future__ import annotations

import hashlib
import json
import sys

from aiohttp import web

from bot.api.errors import BadRequest
from campaigns.text import text_problem

MAX_DEPTH = 16  # the deepest valid body is 4 levels: {recipients: [{variables: {..}}]}


def read_json(raw: bytes) -> object:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest("The body is not valid JSON.") from None
    except RecursionError:
        raise BadRequest(f"The body is nested more than {MAX_DEPTH} levels deep.") from None
    except ValueError:
        # A number of more than 4,300 digits: Python refuses to make it an int (the conversion
        # is quadratic), and says so with a plain ValueError, not a JSONDecodeError.
        raise BadRequest(
            f"The body has a number over {sys.get_int_max_str_digits():,} digits long: send "
            "numbers of a sensible size (or as text)."
        ) from None
    check_json_text(value)
    return value


def check_json_text(value: object) -> None:
    """Raise BadRequest naming the first string (or key) that cannot be stored or sent."""
    stack: list[tuple[object, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"The body is nested more than {MAX_DEPTH} levels deep.")
        if isinstance(item, str):
            _check(item, path)
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else key
                _check(key, child_path)
                stack.append((child, child_path, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{path}.{i}", depth + 1) for i, child in enumerate(item))


def _check(text: str, path: str) -> None:
    problem = text_problem(text)
    if problem:
        # The path may itself hold the bad character (a key): shown only if it is clean.
        field = path if text_problem(path) is None else None
        where = field or "A key in the body"
        raise BadRequest(f"{where} {problem}: remove it and send the request again.", field)


def body_digest(value: object) -> str:
    """A hash of the body's meaning (key order and spacing do not count), for Idempotency-Key."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def query_limit(request: web.Request, name: str, default: int) -> int:
    """A page size from the query string: a whole number from 1 to 1000 (BadRequest if not)."""
    text = request.query.get(name)
    if text is None:
        return default
    # isdigit alone admits "²" and other digits int() refuses; four ASCII digits cover 1000.
    if not (text.isascii() and text.isdigit() and len(text) <= 4) or not 1 <= int(text) <= 1000:
        raise BadRequest(f"{name} must be a whole number from 1 to 1000.", name)
    return int(text)
