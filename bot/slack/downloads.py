"""Files people uploaded in a Slack form (a CSV of recipients, contacts, pictures), downloaded
with the bot token: Slack answers a sign-in page without it.

The file's address comes in the request (`url_private`), so it is checked before the token goes
anywhere: only Slack's file host, or the host of SLACK_API_URL and its `files.` host (a local
stand-in, another Slack cloud), with the same scheme and port, get it. Redirects are followed
here, one hop at a time, each checked the same way: nothing is fetched from anywhere else, so
what another server answers never reaches a preview, and the token never follows a redirect
whatever the HTTP library's own rules are.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from yarl import URL

from campaigns.errors import InputError
from campaigns.limits import MAX_INPUT_BYTES

DOWNLOAD_TIMEOUT = 30.0
MAX_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 307, 308})
SLACK_FILES = ("https", "files.slack.com", 443)

CSV_TOO_LARGE = "The file is over 10 MB: split the list into several campaigns."
NOT_SHARED = "Slack did not share the file with Textcast: upload it again."
NOT_FROM_SLACK = (
    "Textcast downloads files only from Slack, and this one is somewhere else: upload the file "
    "again in this form."
)
NOT_DOWNLOADED = "Textcast could not download the file from Slack: upload it again."


def slack_file_origins(api_url: str) -> frozenset[tuple[str, str, int]]:
    """(scheme, host, port) of every place a Slack file may be downloaded from, with the token."""
    api = URL(api_url)
    origins = {SLACK_FILES}
    if api.host and api.port is not None:
        host = api.host.lower()
        origins |= {(api.scheme, host, api.port), (api.scheme, f"files.{host}", api.port)}
    return frozenset(origins)


def is_slack_file(url: URL, origins: frozenset[tuple[str, str, int]]) -> bool:
    if not url.host or url.port is None or url.user or url.password:
        return False
    return (url.scheme, url.host.lower(), url.port) in origins


async def download(
    client: AsyncWebClient,
    file: dict[str, Any],
    *,
    limit: int = MAX_INPUT_BYTES,
    too_large: InputError | None = None,
) -> bytes:
    """A file from a file_input, with the bot token, from Slack only; `too_large` is raised past
    `limit` bytes."""
    too_large = too_large or InputError(CSV_TOO_LARGE)
    if int(file.get("size") or 0) > limit:
        raise too_large
    address = file.get("url_private_download") or file.get("url_private")
    if not address or not isinstance(address, str):
        raise InputError(NOT_SHARED)
    try:
        url = URL(address)
    except ValueError:
        raise InputError(NOT_FROM_SLACK) from None
    origins = slack_file_origins(client.base_url)
    headers = {"Authorization": f"Bearer {client.token}"}
    timeout = aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for _ in range(MAX_REDIRECTS + 1):
            if not is_slack_file(url, origins):
                raise InputError(NOT_FROM_SLACK)
            async with session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in REDIRECTS:
                    url = _next_hop(url, response)
                    continue
                return await _body(response, limit, too_large)
    raise InputError(NOT_DOWNLOADED)  # redirected round and round


def _next_hop(url: URL, response: aiohttp.ClientResponse) -> URL:
    location = response.headers.get("Location")
    if not location:
        raise InputError(NOT_DOWNLOADED)
    try:
        return url.join(URL(location))
    except ValueError:
        raise InputError(NOT_FROM_SLACK) from None


async def _body(response: aiohttp.ClientResponse, limit: int, too_large: InputError) -> bytes:
    if response.status != 200 or response.content_type == "text/html":
        raise InputError(NOT_DOWNLOADED)
    # read(n) returns what has arrived, not n bytes: read to the end, within the limit.
    data = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > limit:
            raise too_large
    return bytes(data)
