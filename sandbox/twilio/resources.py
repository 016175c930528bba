"""The Message resource and its list pages, shaped as Twilio's 2010-04-01 API answers them."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sandbox.twilio.config import MAX_PAGE_SIZE, ListOrder
from sandbox.twilio.errors import API_VERSION, invalid_parameter
from sandbox.twilio.store import Message, MessageStore

DEFAULT_PAGE_SIZE = 50
LIST_FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY = 86400


def rfc2822(timestamp: float | None) -> str | None:
    """Twilio's date format, e.g. "Mon, 23 Nov 2026 09:00:00 +0000"."""
    if timestamp is None:
        return None
    t = time.gmtime(timestamp)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def messages_path(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages"


def message_resource(message: Message, account_sid: str) -> dict[str, Any]:
    base = f"{messages_path(account_sid)}/{message.sid}"
    # A Messaging Service message shows no sender and 0 segments until a sender is picked.
    picked = message.status != "accepted"
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": rfc2822(message.created_wall),
        "date_sent": rfc2822(message.sent_wall),
        "date_updated": rfc2822(message.updated_wall),
        "direction": message.direction,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "from": message.from_,
        "messaging_service_sid": message.messaging_service_sid,
        "num_media": str(len(message.media_urls)),
        "num_segments": str(message.segments if picked else 0),
        "price": message.price,
        "price_unit": "USD",
        "sid": message.sid,
        "status": message.status,
        "subresource_uris": {"media": f"{base}/Media.json"},
        "to": message.to,
        "uri": f"{base}.json",
    }


def odd_resource(resource: Mapping[str, Any]) -> dict[str, Any]:
    """`resource` with the SID and the rest as they were, but fields a client cannot parse: a
    segment count that is no number, a status newer than the client, dates missing or garbled.
    Twilio documents these as strings, and adds statuses over time; a client must cope."""
    odd = dict(resource)
    odd.update(num_segments="abc", status="accepting", date_updated="yesterday-ish", price="n/a")
    odd.pop("date_created", None)
    return odd


def list_page(
    store: MessageStore,
    account_sid: str,
    query: Mapping[str, str],
    *,
    created_before: float | None = None,
    order: ListOrder = "date_sent",
    max_page_size: int = MAX_PAGE_SIZE,
) -> dict[str, Any]:
    """One page of `GET .../Messages.json`, newest first (`order`), with Twilio's paging keys.

    `created_before` (the event loop's clock): messages created later are not listed yet.
    `max_page_size`: the largest page answered, whatever PageSize asks.
    """
    filters = {name: query[name] for name in LIST_FILTERS if name in query}
    matches = _matcher(filters, created_before)
    page_size = _int_param(query, "PageSize", DEFAULT_PAGE_SIZE, low=1)
    page_size = min(page_size, max_page_size, MAX_PAGE_SIZE)
    page = _int_param(query, "Page", 0, low=0)
    token = query.get("PageToken")
    candidates = store.candidates(filters.get("To"), filters.get("From"))
    anchor: Message | None = None
    if token and token[:2] in ("PA", "PB") and len(token) > 2:
        anchor = store.get(token[2:])
        if anchor is None:
            raise invalid_parameter("PageToken", token)
    after = token is None or token.startswith("PA")
    if order == "date_sent":
        listed = _by_date_sent(candidates, matches)
        records, has_next, has_previous = _slice(listed, anchor, after, page * page_size, page_size)
    else:
        records, has_next, has_previous = _created_page(
            candidates, matches, anchor, after, page * page_size, page_size
        )

    base = f"{messages_path(account_sid)}.json"

    def uri(page_number: int, page_token: str | None) -> str:
        params = dict(filters)
        params["PageSize"] = str(page_size)
        params["Page"] = str(page_number)
        if page_token is not None:
            params["PageToken"] = page_token
        return f"{base}?{urlencode(params)}"

    start = page * page_size
    return {
        "end": start + max(len(records) - 1, 0),
        "first_page_uri": uri(0, None),
        "messages": [message_resource(message, account_sid) for message in records],
        "next_page_uri": uri(page + 1, "PA" + records[-1].sid) if has_next and records else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": (
            uri(page - 1, "PB" + records[0].sid) if has_previous and records and page > 0 else None
        ),
        "start": start,
        "uri": uri(page, token),
    }


def _created_page(
    candidates: list[Message], matches: Callable[[Message], bool], anchor: Message | None,
    after: bool, skip: int, page_size: int,
) -> tuple[list[Message], bool, bool]:  # fmt: skip
    """A page in creation order, newest first: (records, has_next, has_previous)."""
    if anchor is not None and after:
        older = _older(candidates, anchor.seq, matches)
        return _take(older, page_size), _any(older), True
    if anchor is not None:
        newer = _newer(candidates, anchor.seq, matches)
        records = _take(newer, page_size)
        has_previous = _any(newer)
        records.reverse()
        return records, True, has_previous
    everything = _older(candidates, None, matches)
    for _ in range(skip):
        if next(everything, None) is None:
            break
    return _take(everything, page_size), _any(everything), skip > 0


def _by_date_sent(candidates: list[Message], matches: Callable[[Message], bool]) -> list[Message]:
    """Twilio's documented order: by date_sent, newest first; then those not sent yet."""
    sent = [message for message in candidates if message.sent_wall is not None and matches(message)]
    sent.sort(key=_date_sent, reverse=True)
    unsent = [m for m in reversed(candidates) if m.sent_wall is None and matches(m)]
    return sent + unsent


def _slice(
    listed: list[Message], anchor: Message | None, after: bool, skip: int, page_size: int
) -> tuple[list[Message], bool, bool]:
    """A page of an ordered list, after (or before) the anchor where it stands now: a message
    sent between two pages moves, as its date_sent sorts it elsewhere."""
    where = listed.index(anchor) if anchor is not None and anchor in listed else None
    if anchor is not None and not after and where is not None:
        start = max(where - page_size, 0)
        return listed[start:where], True, start > 0
    start = skip if where is None else where + 1
    records = listed[start : start + page_size]
    return records, len(listed) > start + page_size, start > 0


def _older(
    candidates: list[Message], before_seq: int | None, matches: Callable[[Message], bool]
) -> Iterator[Message]:
    stop = (
        len(candidates)
        if before_seq is None
        else bisect.bisect_left(candidates, before_seq, key=_seq)
    )
    for index in range(stop - 1, -1, -1):
        if matches(candidates[index]):
            yield candidates[index]


def _newer(
    candidates: list[Message], after_seq: int, matches: Callable[[Message], bool]
) -> Iterator[Message]:
    for index in range(bisect.bisect_right(candidates, after_seq, key=_seq), len(candidates)):
        if matches(candidates[index]):
            yield candidates[index]


def _take(records: Iterator[Message], count: int) -> list[Message]:
    taken = []
    for record in records:
        taken.append(record)
        if len(taken) == count:
            break
    return taken


def _any(records: Iterator[Message]) -> bool:
    return next(records, None) is not None


def _seq(message: Message) -> int:
    return message.seq


def _date_sent(message: Message) -> tuple[float, int]:
    return (message.sent_wall or 0.0, message.seq)


def _matcher(
    filters: Mapping[str, str], created_before: float | None = None
) -> Callable[[Message], bool]:
    """A test for To, From and the DateSent filters (dates GMT; `<` and `>` include the bound).

    A date (YYYY-MM-DD) means that whole day, a date-time that second. A message not sent yet
    has no date_sent and matches no DateSent filter.
    """
    to = filters.get("To")
    from_ = filters.get("From")
    bounds: list[tuple[float, float]] = []
    if "DateSent" in filters:
        low, high = _date_range(filters["DateSent"])
        bounds.append((low, high))
    if "DateSent>" in filters:
        low, _ = _date_range(filters["DateSent>"])
        bounds.append((low, float("inf")))
    if "DateSent<" in filters:
        _, high = _date_range(filters["DateSent<"])
        bounds.append((float("-inf"), high))

    def matches(message: Message) -> bool:
        if created_before is not None and message.created_at > created_before:
            return False
        if to is not None and message.to != to:
            return False
        if from_ is not None and message.from_ != from_:
            return False
        if bounds:
            sent = message.sent_wall
            if sent is None:
                return False
            return all(low <= sent < high for low, high in bounds)
        return True

    return matches


def _date_range(value: str) -> tuple[float, float]:
    """[start, end) of the day or the second `value` names, as Unix times."""
    text = value.strip().lstrip("=")
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
            return day, day + _DAY
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_parameter("DateSent", value) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    second = float(int(moment.timestamp()))
    return second, second + 1


def _int_param(query: Mapping[str, str], name: str, default: int, low: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_parameter(name, raw) from None
    if value < low:
        raise invalid_parameter(name, raw)
    return value
