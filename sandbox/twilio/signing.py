"""`X-Twilio-Signature`, computed the way Twilio documents it for form-encoded webhooks.

The full URL Twilio requests (scheme, host, port if any, path and query), then each POST
parameter's name followed by its value, parameters sorted by name; HMAC-SHA1 of that string with
the account's auth token, base64-encoded. Written out here rather than borrowed from the SDK's
RequestValidator, so that the tests checking callbacks with RequestValidator check something.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")
