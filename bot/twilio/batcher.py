"""Writing status callbacks in batches, and answering each only once its batch is committed.

Twilio posts one callback per status change: a 10,000-recipient campaign brings 30,000 or more
in a few minutes. One transaction per callback would make the database the bottleneck (on
SQLite every write transaction takes the one write lock), so callbacks wait here for at most
`max_delay` seconds, or until `max_items` have gathered, and are written together. Each handler
awaits its own future, resolved after the commit: Twilio is only told "got it" once the update
is durable, and a failed batch fails every request in it, so Twilio may send them again.

After each batch that moved a recipient, the ids of the campaigns it touched are added to the
Redis set `{REDIS_NAMESPACE}:status-news`, for the worker to refresh their Slack summaries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from campaigns.delivery_errors import OPTED_OUT
from campaigns.service import Context, StatusUpdate
from campaigns.service.status_news import (
    attach_sids_by_campaign,
    campaigns_by_sid,
    campaigns_of_sids,
    record_refused_numbers,
    status_news_key,
)
from campaigns.service.status_updates import apply_status_news

log = logging.getLogger(__name__)

MAX_DELAY = 0.02  # seconds a callback may wait for others to join its batch
MAX_ITEMS = 500


@dataclass(frozen=True, slots=True)
class Callback:
    """One status callback to write.

    `to` is the number the message went to (for a 21610 opt-out); `recipient_id` is the `rid`
    our status callback URL carries, which finds the row when the callback beats the sender's
    own write of the SID.
    """

    update: StatusUpdate
    to: str | None = None
    recipient_id: int | None = None


Pending = tuple[Callback, "asyncio.Future[None]"]


class StatusBatcher:
    """Collects status updates and applies them in batches from one writer task."""

    def __init__(
        self,
        ctx: Context,
        redis: Redis,
        *,
        news_key: str | None = None,
        max_delay: float = MAX_DELAY,
        max_items: int = MAX_ITEMS,
    ) -> None:
        self.ctx = ctx
        self.redis = redis
        self.news_key = news_key or status_news_key(ctx.settings)
        self.max_delay = max_delay
        self.max_items = max_items
        self.batches = 0  # written so far, for benchmarks and logs
        self._items: list[Pending] = []
        self._oldest = 0.0  # loop time the oldest waiting item arrived
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._news_sids: set[str] = set()
        self._news_campaigns: set[str] = set()
        self._news_ready = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="status-batcher")
        self._publisher = asyncio.create_task(self._publish_news(), name="status-news")

    async def stop(self) -> None:
        """Write everything submitted so far, then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._arrived.set()
        self._full.set()
        await self._task
        self._task = None
        if self._publisher is not None:
            self._news_ready.set()  # publishes what is left, then sees the writer gone
            await self._publisher
            self._publisher = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._stopping

    def submit(self, callback: Callback) -> asyncio.Future[None]:
        """Queue an update; the future is done once it is committed (or has failed)."""
        if not self.running:
            raise RuntimeError("the status batcher is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if not self._items:
            self._oldest = loop.time()
            self._arrived.set()
        self._items.append((callback, future))
        if len(self._items) >= self.max_items:
            self._full.set()
        return future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._items or not self._stopping:
            if not self._items:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            wait = self._oldest + self.max_delay - loop.time()
            if wait > 0 and len(self._items) < self.max_items and not self._stopping:
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._full.wait()
            await self._write(self._take())

    def _take(self) -> list[Pending]:
        batch = self._items[: self.max_items]
        del self._items[: self.max_items]
        if self._items:
            # Those left over have waited through this batch's write: they go next, at once.
            self._oldest = asyncio.get_running_loop().time() - self.max_delay
        return batch

    async def _write(self, batch: list[Pending]) -> None:
        items = [item for item, _ in batch]
        refused = [(item, future) for item, future in batch if item.update.error_code == OPTED_OUT]
        try:
            moved, campaign_of = await self._apply(items, lookup=bool(refused))
        except Exception as error:
            log.exception("writing %d status callbacks failed", len(batch))
            _fail(batch, error)
            return
        self.batches += 1
        if refused:
            # The statuses are committed; only these answers wait for their opt-outs as well.
            try:
                await record_refused_numbers(
                    self.ctx,
                    [
                        (item.to, (campaign_of or {}).get(_sid(item)))
                        for item, _ in refused
                        if item.to
                    ],
                )
            except Exception as error:
                log.exception("recording %d opt-outs (21610) failed", len(refused))
                _fail(refused, error)
        for _, future in batch:
            if not future.done():
                future.set_result(None)
        if moved:
            self._announce({_sid(item) for item in items}, campaign_of)

    async def _apply(
        self, items: list[Callback], *, lookup: bool
    ) -> tuple[int, dict[str, str] | None]:
        """Apply the updates; returns how many recipients moved, and each SID's campaign when
        it is known (every SID's, when any had to be looked up).

        On PostgreSQL the usual batch is one statement, which also says whose each SID is."""
        moved, campaign_of = await apply_status_news(self.ctx, [item.update for item in items])
        sids = {_sid(item) for item in items}
        if campaign_of is None:  # SQLite: which SIDs are known takes a look
            if moved == len(sids) and not lookup:
                return moved, None  # each SID moved a recipient, so none is unknown
            campaign_of = await campaigns_by_sid(self.ctx, sids)
        early = [
            item
            for item in items
            if item.recipient_id is not None and _sid(item) not in campaign_of
        ]
        if early:
            # Applied again even where nothing was attached: the sender may have written the
            # SID itself since the first apply.
            attached = await attach_sids_by_campaign(
                self.ctx, [(item.recipient_id or 0, _sid(item), item.to) for item in early]
            )
            again, found = await apply_status_news(self.ctx, [item.update for item in early])
            moved += again
            campaign_of |= (attached or {}) | (found or {})
            if found is None:  # SQLite
                campaign_of |= await campaigns_by_sid(self.ctx, sids - campaign_of.keys())
        unknown = len(sids) - len(campaign_of)
        if unknown:
            log.info("%d status callbacks name a message Textcast did not send", unknown)
        return moved, campaign_of

    # Status news: off the writer's path, so answers never wait for it ------------------------

    def _announce(self, sids: set[str], campaign_of: dict[str, str] | None) -> None:
        # Every campaign named in a batch that moved anything is flagged: apply_status_updates
        # reports a count, not which recipients moved, and a spare flag costs one refresh.
        if campaign_of is None:
            self._news_sids |= sids
        else:
            self._news_campaigns |= set(campaign_of.values())
        self._news_ready.set()

    async def _publish_news(self) -> None:
        while True:
            await self._news_ready.wait()
            self._news_ready.clear()
            sids, self._news_sids = self._news_sids, set()
            campaign_ids, self._news_campaigns = self._news_campaigns, set()
            # A hint, not the truth (the counts are in the database): losing one only delays a
            # Slack refresh, so a failure here must not fail callbacks that are already written.
            try:
                campaign_ids |= await campaigns_of_sids(self.ctx, sids)
                if campaign_ids:
                    await self.redis.sadd(self.news_key, *campaign_ids)
            except Exception as error:
                log.warning("could not publish status news: %r", error)
            if self._task is None and not self._news_sids and not self._news_campaigns:
                return  # the writer has stopped and all it announced is out


def _sid(item: Callback) -> str:
    return item.update.twilio_sid or ""


def _fail(batch: list[Pending], error: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)


BATCHER = web.AppKey("status_batcher", StatusBatcher)
