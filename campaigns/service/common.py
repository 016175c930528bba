"""Pieces the service operations share: loading a campaign, counting, storing recipients."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.errors import InputError, NotFound
from campaigns.limits import MAX_BODY_CHARS
from campaigns.messages import MessageStats, OverLong, analyse_messages, first_over_long
from campaigns.models import Campaign, Recipient
from campaigns.offload import off_loop
from campaigns.recipients import ImportReport
from campaigns.recipients import Recipient as ParsedRecipient
from campaigns.recipients.destinations import Destinations
from campaigns.send_hours import ANY, main_zone, parse_send_hours, zones_for
from campaigns.status import Counts, RecipientStatus
from campaigns.templates import Template, compile_template
from campaigns.text import check_text, check_texts

INSERT_CHUNK = 5_000
MAX_STORED_INVALID = 1_000  # the preview shows a few; the rest are counted
CHECKED_DESTINATIONS = "checked_destinations"  # in a campaign's import_report


POSSIBLE_ID = re.compile(r"[a-z0-9_]{1,32}")  # campaigns.id is String(32); ids.py makes them


async def load_campaign(
    session: AsyncSession, campaign_id: str, *, for_update: bool = False
) -> Campaign:
    if not POSSIBLE_ID.fullmatch(campaign_id):
        # Not an id this server makes (a NUL, which PostgreSQL refuses in a query, or 5,000
        # characters): no query can find it.
        raise NotFound("No such campaign: check the id (it starts with smsc_).")
    query = select(Campaign).where(Campaign.id == campaign_id)
    if for_update:  # PostgreSQL row lock; SQLite's BEGIN IMMEDIATE already serialises writers
        query = query.with_for_update()
    campaign = (await session.execute(query)).scalar_one_or_none()
    if campaign is None:
        raise NotFound(f"No campaign {campaign_id!r}: check the id (it starts with smsc_).")
    return campaign


async def counts_for(session: AsyncSession, campaign_ids: Sequence[str]) -> dict[str, Counts]:
    """Counts of many campaigns in one query over the (campaign_id, status) index."""
    if not campaign_ids:
        return {}
    rows = await session.execute(
        select(
            Recipient.campaign_id,
            Recipient.status,
            func.count(),
            func.count(Recipient.twilio_sid),  # handed to Twilio
        )
        .where(Recipient.campaign_id.in_(campaign_ids))
        .group_by(Recipient.campaign_id, Recipient.status)
    )
    by_campaign: dict[str, dict[str, int]] = defaultdict(dict)
    queued_with_sid: dict[str, int] = defaultdict(int)
    submitted: dict[str, int] = defaultdict(int)
    for campaign_id, status, count, with_sid in rows:
        by_campaign[campaign_id][status] = count
        submitted[campaign_id] += with_sid
        if status == RecipientStatus.QUEUED:
            queued_with_sid[campaign_id] = with_sid
    counts = {
        cid: Counts.from_statuses(
            by_campaign.get(cid, {}), queued_with_sid=queued_with_sid[cid], submitted=submitted[cid]
        )
        for cid in campaign_ids
    }
    if not any(n.pending for n in counts.values()):
        return counts
    waiting = await session.execute(
        select(Recipient.campaign_id, func.count(), func.min(Recipient.not_before))
        .where(
            Recipient.campaign_id.in_([c for c, n in counts.items() if n.pending]),
            Recipient.status == RecipientStatus.PENDING,
            Recipient.not_before > datetime.now(UTC),  # shown to people: the wall clock will do
        )
        .group_by(Recipient.campaign_id)
    )
    for campaign_id, count, release in waiting.all():
        zone = await _zone_released_at(session, campaign_id, release)
        counts[campaign_id] = replace(
            counts[campaign_id], waiting=count, next_release=release, next_release_zone=zone
        )
    return counts


async def _zone_released_at(
    session: AsyncSession, campaign_id: str, release: datetime | None
) -> str | None:
    """The zone of one of the recipients released first, for "08:00 in Los Angeles". One row
    by the (campaign_id, status) index, for the few campaigns that have someone waiting."""
    if release is None:
        return None
    first = (
        await session.execute(
            select(Recipient.phone, Recipient.variables)
            .where(
                Recipient.campaign_id == campaign_id,
                Recipient.status == RecipientStatus.PENDING,
                Recipient.not_before == release,
            )
            .limit(1)
        )
    ).first()
    if first is None:
        return None
    zones = zones_for(first.phone, first.variables)
    return main_zone(zones) if zones else None


@dataclass(frozen=True, slots=True)
class CampaignView:
    """A campaign (detached, read-only) with its counts as of the query."""

    campaign: Campaign
    counts: Counts
    replayed: bool = False  # an idempotent retry answered with the campaign it created first


def checked_send_hours(text: str | None) -> str | None:
    """A campaign's own sending hours as stored (`09:00-20:00`, `any`); None: the setting's."""
    if text is None or not text.strip():
        return None
    try:
        hours = parse_send_hours(text)
    except ValueError as error:
        raise InputError(str(error), field="send_hours") from None
    return str(hours) if hours is not None else ANY


def checked_template(text: str) -> Template:
    if not text or not text.strip():
        raise InputError("Write the message to send.", field="message_template")
    return compile_template(check_text(text, "message_template", "The message"))


MAX_NAME = 200


def checked_name(name: str) -> str:
    name = check_text((name or "").strip(), "name", "The name")
    if not name:
        raise InputError("Give the campaign a name.", field="name")
    if len(name) > MAX_NAME:
        raise InputError(f"Keep the name under {MAX_NAME} characters.", field="name")
    return name


def require_recipients(report: ImportReport) -> None:
    if not report.recipients:
        why = f" ({'; '.join(report.warnings)})" if report.warnings else ""
        raise InputError(f"There is no valid phone number to send to{why}.", field="recipients")
    check_recipient_texts(report)


def check_recipient_texts(report: ImportReport) -> None:
    """Every column name and value can be stored and sent (campaigns/text.py), or InputError
    naming the row."""
    check_texts(((f"variables.{n}", n) for n in report.variables), "A column name")
    for recipient in report.recipients:
        check_texts(
            ((f"variables.{name}", value) for name, value in recipient.variables.items()),
            f"Row {recipient.row}'s value for a column",
        )


def analyse(
    template: Template,
    variables: Sequence[Mapping[str, str]],
    names: Sequence[str],
    mms: bool = False,
    rows: Sequence[int] | None = None,
) -> tuple[list[int], MessageStats]:
    """Every recipient's segments and the totals; refuses messages Twilio would refuse.

    A message too long is refused before any is made, at the first one (its row named when
    `rows`, the list's row numbers, are given): making them all to count them cost minutes."""
    over = first_over_long(template, variables)
    if over is not None:
        raise InputError(_over_long_message(template, over, rows), field="message_template")
    segments, stats = analyse_messages(template, variables, names, mms=mms)
    if stats.too_long:  # cannot happen after the check above; kept so no such list gets through
        raise InputError(
            f"{stats.too_long:,} message{'s' if stats.too_long != 1 else ''} would be over "
            f"{MAX_BODY_CHARS:,} characters (the "
            f"longest is {stats.longest:,}): shorten the message or the values it takes from "
            "the recipients.",
            field="message_template",
        )
    return segments, stats


def _over_long_message(template: Template, over: OverLong, rows: Sequence[int] | None) -> str:
    if over.every:
        what = "Even with its placeholders empty the message" if template.placeholders else (
            "The message")  # fmt: skip
        return (
            f"{what} is {over.length:,} characters: Twilio refuses messages over "
            f"{MAX_BODY_CHARS:,} characters. Shorten it."
        )
    whose = f"row {rows[over.index]}'s" if rows is not None else "one recipient's"
    return (
        f"Messages would be over {MAX_BODY_CHARS:,} characters, which Twilio refuses ({whose} "
        f"would be {over.length:,}): shorten the message or the values it takes from the "
        "recipients."
    )


def import_summary(report: ImportReport) -> dict[str, Any]:
    """What the preview needs to show of the import, kept with the campaign."""
    data = report.to_json(sample=0)
    data.pop("sample", None)
    data["invalid_count"] = len(report.invalid)
    data["invalid"] = data["invalid"][:MAX_STORED_INVALID]
    data["read_abroad_count"] = len(report.read_abroad)
    data["read_abroad"] = data["read_abroad"][:MAX_STORED_INVALID]
    if report.destinations is not None:
        data[CHECKED_DESTINATIONS] = report.destinations.to_json()
    return data


def checked_destinations(import_report: dict[str, Any]) -> Destinations | None:
    """What a stored campaign's recipients were checked against when read; None if they were
    not (a list stored before destinations were checked, or read without them)."""
    data = import_report.get(CHECKED_DESTINATIONS)
    return None if data is None else Destinations.from_json(data)


async def insert_recipients(
    session: AsyncSession,
    campaign_id: str,
    report: ImportReport,
    segments: Sequence[int],
) -> None:
    """Bulk insert, in chunks so a 100,000-row import stays small in memory.

    The rows (every recipient's variables as JSON) are made in the CPU pool: for 100,000
    recipients that is most of a second, which on the event loop would hold up every request.
    """
    connection = await session.connection()
    sqlite = connection.dialect.name == "sqlite"
    rows = await off_loop(recipient_rows, campaign_id, report.recipients, segments, sqlite=sqlite)
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        if sqlite:
            # sqlite3's own executemany with ready-made tuples: SQLAlchemy's per-row parameter
            # processing was most of the time of a 100,000-row import.
            await connection.exec_driver_sql(_SQLITE_INSERT, chunk)
        else:
            # asyncpg's binary COPY, inside the transaction SQLAlchemy opened on this
            # connection: several times faster than INSERT for a 100,000-row import.
            raw = await connection.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                "recipients", columns=_COPY_COLUMNS, records=chunk
            )


_SQLITE_INSERT = (
    "INSERT INTO recipients (campaign_id, row, phone, variables, segments, status, attempts) "
    "VALUES (?, ?, ?, ?, ?, 'pending', 0)"
)
_COPY_COLUMNS = ["campaign_id", "row", "phone", "variables", "segments", "status", "attempts"]


def recipient_rows(
    campaign_id: str,
    recipients: Sequence[ParsedRecipient],
    segments: Sequence[int],
    *,
    sqlite: bool,
) -> list[tuple[Any, ...]]:
    """The rows to insert: SQLite's statement sets status and attempts itself, COPY cannot."""
    dumps = json.dumps
    pairs = zip(recipients, segments, strict=True)
    if sqlite:
        return [(campaign_id, r.row, r.phone, dumps(r.variables), n) for r, n in pairs]
    return [(campaign_id, r.row, r.phone, dumps(r.variables), n, "pending", 0) for r, n in pairs]
