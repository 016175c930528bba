"""Campaign and recipient statuses, the order recipient statuses move in, and the count rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from campaigns.delivery_errors import reason_for


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"  # confirmed, over an approval threshold
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


EDITABLE = frozenset(
    {CampaignStatus.DRAFT, CampaignStatus.AWAITING_APPROVAL, CampaignStatus.SCHEDULED}
)
CANCELLABLE = frozenset(
    {CampaignStatus.DRAFT, CampaignStatus.AWAITING_APPROVAL, CampaignStatus.SCHEDULED,
     CampaignStatus.RUNNING, CampaignStatus.PAUSED}
)  # fmt: skip
FINISHED = frozenset({CampaignStatus.DONE, CampaignStatus.FAILED, CampaignStatus.CANCELLED})

# How a sentence says a status ("Campaign 'X' is waiting for approval"); the rest read as they are.
_SAID = {
    CampaignStatus.DRAFT: "a draft",
    CampaignStatus.AWAITING_APPROVAL: "waiting for approval",
    CampaignStatus.RUNNING: "sending",
}


def status_said(status: str) -> str:
    """A campaign status in words for a message a person reads, never the stored name."""
    try:
        return _SAID.get(CampaignStatus(status), str(status))
    except ValueError:
        return str(status)


class RecipientStatus(StrEnum):
    PENDING = "pending"  # waiting to be sent
    QUEUED = "queued"  # handed to (or being handed to) Twilio
    SENT = "sent"  # Twilio handed it to the carrier, no delivery receipt (yet)
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


# A status only ever moves to a higher rank: a late or repeated callback can never move a message
# back (delivered -> sent), and the final statuses share the top rank so none overrides another.
RANK: Mapping[RecipientStatus, int] = {
    RecipientStatus.PENDING: 0,
    RecipientStatus.QUEUED: 1,
    RecipientStatus.SENT: 2,
    RecipientStatus.DELIVERED: 3,
    RecipientStatus.UNDELIVERED: 3,
    RecipientStatus.FAILED: 3,
    RecipientStatus.CANCELLED: 3,
}
FINAL = frozenset(status for status, rank in RANK.items() if rank == 3)


def statuses_below(status: RecipientStatus) -> tuple[RecipientStatus, ...]:
    """The statuses a recipient may move *from* to reach `status`."""
    return tuple(s for s, rank in RANK.items() if rank < RANK[status])


# Twilio's message statuses, in our terms. `partially_delivered` (an MMS some of whose parts
# arrived) is final at Twilio and the person has the message, if not all of it: delivered, with
# Twilio's error code kept to say what was missing. Counting it failed would report a message
# people read as lost.
TWILIO_STATUS: Mapping[str, RecipientStatus] = {
    "accepted": RecipientStatus.QUEUED,
    "scheduled": RecipientStatus.QUEUED,
    "queued": RecipientStatus.QUEUED,
    "sending": RecipientStatus.QUEUED,
    "sent": RecipientStatus.SENT,
    "delivered": RecipientStatus.DELIVERED,
    "partially_delivered": RecipientStatus.DELIVERED,
    "read": RecipientStatus.DELIVERED,
    "undelivered": RecipientStatus.UNDELIVERED,
    "failed": RecipientStatus.FAILED,
    "canceled": RecipientStatus.CANCELLED,
}


# Statuses that keep the error code Twilio gives with them: why a message failed, or what the
# carrier warned of on one it took (a `sent` that may never get a receipt, a partial delivery).
KEEPS_ERROR_CODE = frozenset(
    {RecipientStatus.SENT, RecipientStatus.DELIVERED, RecipientStatus.UNDELIVERED,
     RecipientStatus.FAILED}
)  # fmt: skip
FAILURES = frozenset({RecipientStatus.UNDELIVERED, RecipientStatus.FAILED})


def error_of(status: RecipientStatus, code: int | None) -> tuple[int | None, str | None]:
    """The error code and reason to store with `status`: a failure always has a reason; any
    other status keeps a code Twilio gave, with its meaning, and nothing without one."""
    if status in FAILURES:
        return code, reason_for(code)
    if status in KEEPS_ERROR_CODE and code is not None:
        return code, reason_for(code)
    return None, None


# What each of a campaign's counts counts, as the seed defines them (`sent` without a receipt
# counts as failed). A recipient filter named like a count lists exactly what it counts, so the
# API's `?status=failed` and `failed_count` never disagree.
COUNTED_AS: Mapping[str, frozenset[RecipientStatus]] = {
    "delivered": frozenset({RecipientStatus.DELIVERED}),
    "failed": frozenset(
        {RecipientStatus.FAILED, RecipientStatus.UNDELIVERED, RecipientStatus.SENT}
    ),
    "pending": frozenset({RecipientStatus.PENDING, RecipientStatus.QUEUED}),
    "cancelled": frozenset({RecipientStatus.CANCELLED}),
}


def statuses_listed(status: RecipientStatus) -> frozenset[RecipientStatus]:
    """The stored statuses a filter on `status` lists: a count's name, what that count counts
    (`failed`: failed, undelivered and sent); `queued`, `sent`, `undelivered`: that one alone."""
    return COUNTED_AS.get(status, frozenset({status}))


@dataclass(frozen=True, slots=True)
class Counts:
    """A campaign's counts, as the seed defines them: `sent` without a receipt counts as failed."""

    total: int = 0
    delivered: int = 0
    failed: int = 0
    pending: int = 0
    cancelled: int = 0
    # Of the pending: those waiting for their sending hours, and the soonest of them (UTC).
    waiting: int = 0
    next_release: datetime | None = None
    next_release_zone: str | None = None  # a zone the soonest of them are in
    # Handed to Twilio (they have a SID) with no final status yet: `queued` (counted pending)
    # and `sent` (counted failed). Until the campaign's receipts are final these are shown as
    # awaiting a receipt, neither failed nor waiting to go.
    awaiting_receipt: int = 0
    sent_no_receipt: int = 0  # of them: `sent`
    submitted: int = 0  # handed to Twilio, whatever became of them: 0 until a text has left

    @classmethod
    def from_statuses(
        cls, by_status: Mapping[str, int], *, queued_with_sid: int = 0, submitted: int = 0
    ) -> Counts:
        """`queued_with_sid`: of the `queued`, those Twilio has taken (they have a SID);
        `submitted`: every recipient with a SID."""

        def counted(count: str) -> int:
            return sum(by_status.get(status, 0) for status in COUNTED_AS[count])

        sent = by_status.get(RecipientStatus.SENT, 0)
        return cls(
            awaiting_receipt=queued_with_sid + sent,
            sent_no_receipt=sent,
            submitted=submitted,
            total=sum(by_status.values()),
            delivered=counted("delivered"),
            failed=counted("failed"),
            pending=counted("pending"),
            cancelled=counted("cancelled"),
        )

    def while_sending(self) -> Counts:
        """The counts as shown before the receipts are final: what awaits a receipt is neither
        failed (`sent`) nor pending (`queued` with a SID). The seed's counts (above) stay what
        the API reports and what a final summary shows."""
        return replace(
            self,
            failed=max(0, self.failed - self.sent_no_receipt),
            pending=max(0, self.pending - (self.awaiting_receipt - self.sent_no_receipt)),
        )


class TestSendStatus(StrEnum):
    """What became of a test message ("Send a test to me")."""

    QUEUED = "queued"  # recorded, handed to the worker
    SENT = "sent"  # Twilio took it
    UNKNOWN = "unknown"  # Twilio did not answer: it may have gone (never sent again)
    NOT_SENT = "not_sent"  # refused before or by Twilio: costs nothing


# What may have cost money: counted in the month's spend.
TEST_MAY_COST = (TestSendStatus.QUEUED, TestSendStatus.SENT, TestSendStatus.UNKNOWN)
