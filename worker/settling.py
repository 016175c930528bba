"""Settling recipients whose outcome is unknown: found in Twilio, never made, or given up on.

A recipient lands in quarantine when its request's answer was lost (a timeout, a dropped
connection, a 5xx) or when the loop that held its claim stopped renewing it (it died, or stalled
past its lease). Nothing resends it on a guess. Once its lookup is due (long enough after the last
request could have left for a create Twilio makes late to show up), one loop takes it, with a
token and a lease as for a claim, and asks Twilio's message list:

- the message is there (the same text, as Smart Encoding may have changed it, to the same number
  from one of the campaign's senders, dated no earlier than the gateway's MATCH_WINDOW before the
  claim, and held by no other recipient): its SID is adopted, the one made nearest the claim
  if several could be;
- the list answered, every page of it, and it is not there: Twilio never made it, and it goes
  back to pending (or cancelled, in a cancelled campaign) to be sent;
- the list did not answer, or the number has more messages than a lookup reads: it stays
  unknown and is asked again later, less and less often, until UNKNOWN_OUTCOME_LIMIT_SECONDS,
  when it ends `failed` with `unknown_outcome`.

A send loop runs a `Settler` for its campaign; the sweep runs one for paused and cancelled
campaigns, which no loop drives.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from dataclasses import dataclass

from campaigns.models import Campaign
from campaigns.privacy import mask
from campaigns.senders import SenderMode
from campaigns.service import StatusUpdate, apply_status_updates
from campaigns.service.claims import (
    UNKNOWN_OUTCOME,
    Claimed,
    Outcome,
    SendResult,
    next_check_in,
    quarantine_expired,
    record_results,
    release_claims,
    take_checks,
)
from campaigns.service.status_news import campaigns_by_sid
from campaigns.status import RecipientStatus, error_of
from campaigns.templates import compile_template
from worker.gateway import Attempt, Outgoing, Unsendable, message_body
from worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)

BATCH = 50  # lookups taken at once
LOOKUPS_AT_ONCE = 8  # list calls in flight: Twilio limits them per account
RETRY_MIN = 2.0  # seconds before a failed lookup is tried again, growing with how long it has
RETRY_CAP = 60.0  # been unknown, up to this
PASS_SECONDS = 5.0  # a pass takes no new batch after this


@dataclass(frozen=True, slots=True)
class Settled:
    adopted: int = 0
    absent: int = 0  # back to pending (or cancelled): Twilio never made them
    retry: int = 0
    given_up: int = 0

    def __add__(self, other: Settled) -> Settled:
        return Settled(
            self.adopted + other.adopted,
            self.absent + other.absent,
            self.retry + other.retry,
            self.given_up + other.given_up,
        )


def campaign_senders(rt: WorkerRuntime, campaign: Campaign) -> list[str]:
    """Every sender a message of the campaign may have gone from."""
    if campaign.sender_mode == SenderMode.SERVICE:
        return [rt.settings.TWILIO_MESSAGING_SERVICE_SID or ""]
    return list(campaign.from_numbers)


class Settler:
    def __init__(self, rt: WorkerRuntime, campaign: Campaign, *, token: str | None = None) -> None:
        self.rt = rt
        self.campaign = campaign
        # Its own token, not its send loop's: the loop renews the leases of what it holds, and
        # a lookup that could not be written must run out of lease to be taken up again.
        self.token = token or uuid.uuid4().hex
        self.template = compile_template(campaign.message_template)
        self.senders = campaign_senders(rt, campaign)
        self.gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    @property
    def cid(self) -> str:
        return self.campaign.id

    async def settle(self) -> tuple[Settled, float | None]:
        """One pass: quarantine claims whose lease ran out, settle the lookups that are due.

        Returns what was settled, and the seconds until the next lookup or lease end is due
        (None: nothing is unsettled but what loops hold and renew).
        """
        settings = self.rt.settings
        ctx = self.rt.ctx
        await quarantine_expired(ctx, self.cid, wait=settings.UNKNOWN_OUTCOME_WAIT_SECONDS)
        # Long enough for a batch of lookups that each time out.
        rounds = -(-BATCH // LOOKUPS_AT_ONCE)
        lease = settings.RECLAIM_AFTER_SECONDS + rounds * settings.TWILIO_TIMEOUT_SECONDS
        total = Settled()
        started = time.monotonic()
        # A bounded pass: in a long Twilio outage thousands may be due, and the loop that runs
        # this also has to stop when asked.
        while time.monotonic() - started < PASS_SECONDS and (
            due := await take_checks(ctx, self.cid, token=self.token, lease=lease, limit=BATCH)
        ):
            total += await self._settle(due)
            if len(due) < BATCH:
                break
        return total, await next_check_in(ctx, self.cid)

    async def _settle(self, due: list[Claimed]) -> Settled:
        looked = await asyncio.gather(*(self._look_up(recipient) for recipient in due))
        sids = [found.sid for _, candidates in looked for found in candidates or () if found.sid]
        held = await campaigns_by_sid(self.rt.ctx, sids)  # SIDs that are some recipient's already
        adopted: list[tuple[Claimed, Attempt]] = []
        absent: list[int] = []
        later: list[SendResult] = []
        given_up: list[SendResult] = []
        taken: set[str] = set()
        for recipient, candidates in looked:
            if candidates is None:  # Twilio could not be asked
                (given_up if self._overdue(recipient) else later).append(
                    self._still_unknown(recipient)
                )
                continue
            free = [c for c in candidates if c.sid not in held and c.sid not in taken]
            if free:
                adopted.append((recipient, free[0]))
                taken.add(free[0].sid or "")
            else:
                absent.append(recipient.id)
        ctx = self.rt.ctx
        results = [
            SendResult(recipient.id, Outcome.SUBMITTED, sender=found.sender,
                       twilio_sid=found.sid, segments=found.segments)
            for recipient, found in adopted
        ] + later + given_up  # fmt: skip
        await record_results(ctx, results, token=self.token)
        news = [
            StatusUpdate(found.status, twilio_sid=found.sid, error_code=code, error_reason=why)
            for _, found in adopted
            for code, why in [error_of(found.status, found.code)]
            if found.sid and found.status != RecipientStatus.QUEUED
        ]
        if news:
            await apply_status_updates(ctx, news)
        await release_claims(ctx, self.cid, absent, token=self.token)
        settled = Settled(len(adopted), len(absent), len(later), len(given_up))
        log.info(
            "campaign %s: %d unknown outcomes looked up: %d found in Twilio, %d never made, "
            "%d to ask again, %d given up",
            self.cid, len(due), settled.adopted, settled.absent, settled.retry, settled.given_up,
        )  # fmt: skip
        return settled

    async def _look_up(self, recipient: Claimed) -> tuple[Claimed, list[Attempt] | None]:
        try:
            body = message_body(self.template, recipient.variables)
        except Unsendable:
            # No request for it can have left (the send loop makes the body first), so Twilio
            # has none: it goes back to pending, and the loop fails it with the reason.
            return recipient, []
        message = Outgoing(
            to=recipient.phone,
            body=body,
            sender=recipient.sender or (self.senders[0] if self.senders else ""),
            status_callback=None,
            validity_period=self.rt.settings.MESSAGE_VALIDITY_SECONDS,
        )
        async with self.gate:
            try:
                found = await self.rt.gateway.candidates(
                    message, self.senders, recipient.claimed_at
                )
            except LookupError:
                log.info("lookup for %s failed; asked again later", mask(recipient.phone))
                return recipient, None
        return recipient, found

    def _overdue(self, recipient: Claimed) -> bool:
        unknown_for = self._unknown_for(recipient)
        return unknown_for >= self.rt.settings.UNKNOWN_OUTCOME_LIMIT_SECONDS

    @staticmethod
    def _unknown_for(recipient: Claimed) -> float:
        if recipient.taken_at is None or recipient.unknown_since is None:
            return 0.0
        return (recipient.taken_at - recipient.unknown_since).total_seconds()

    def _still_unknown(self, recipient: Claimed) -> SendResult:
        if self._overdue(recipient):
            return SendResult(recipient.id, Outcome.FAILED, error_reason=UNKNOWN_OUTCOME)
        # Backoff grows with how long it has been unknown, with jitter so lookups spread out.
        delay = min(RETRY_CAP, max(RETRY_MIN, self._unknown_for(recipient) / 2))
        return SendResult(
            recipient.id,
            Outcome.UNKNOWN,
            error_reason="Twilio could not be asked whether it was sent; asking again.",
            check_in=random.uniform(delay / 2, delay),
        )
