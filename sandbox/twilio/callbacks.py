"""Webhooks the stand-in posts: status callbacks and inbound messages, signed as Twilio signs.

Every request goes through one shared aiohttp session with a connection limit. Status callbacks
are posted by a set of worker tasks, as many as the carrier config's `callback_concurrency`; the
callbacks of one message always go to the same worker, so they arrive in the order the statuses
changed unless the carrier config asks for them to be delayed, duplicated, reordered or
dropped. A dropped callback is never posted, then or later
(Twilio does not promise to post a lost one again); it is counted in `dropped`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from typing import NamedTuple
from urllib.parse import urlencode

from aiohttp import ClientSession, ClientTimeout, TCPConnector

from sandbox.twilio.config import SandboxConfig
from sandbox.twilio.errors import API_VERSION
from sandbox.twilio.signing import signature
from sandbox.twilio.store import CallbackAttempt, Message

_logger = logging.getLogger("sandbox.twilio.callbacks")
_USER_AGENT = "TwilioProxy/1.1"


class Webhook(NamedTuple):
    url: str
    params: dict[str, str]
    headers: dict[str, str]


class WebhookAnswer(NamedTuple):
    status: int | None  # None when the request failed
    body: str
    error: str | None


class StatusCallbacks:
    """Posts each status change of a message to its StatusCallback."""

    def __init__(self, config: SandboxConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.pending = 0  # callbacks decided but not yet answered
        self.dropped = 0  # callbacks never posted (CarrierConfig.callback_drop_rate)
        self.posted = 0  # callbacks posted and answered (whatever the answer)
        self._epoch = 0
        self._held: dict[str, Webhook] = {}
        self._session: ClientSession | None = None
        self._queues: list[asyncio.Queue[tuple[int, Message, str, Webhook]]] = []
        self._workers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._session = ClientSession(
            connector=TCPConnector(limit=self.config.callback_connections),
            timeout=ClientTimeout(total=self.config.callback_timeout),
        )
        self._grow(self.config.carrier.callback_concurrency)

    def _grow(self, workers: int) -> None:
        """At least `workers` workers: more are started as the carrier config asks for them,
        and none is stopped (when it asks for fewer, the others are left idle)."""
        while len(self._queues) < workers:
            queue: asyncio.Queue[tuple[int, Message, str, Webhook]] = asyncio.Queue()
            self._queues.append(queue)
            self._workers.append(asyncio.create_task(self._work(queue)))

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._queues, self._workers = [], []
        if self._session is not None:
            await self._session.close()
            self._session = None

    def reset(self) -> None:
        """Forget callbacks not yet posted (those in flight still finish)."""
        self._epoch += 1
        self._held.clear()
        for queue in self._queues:
            while not queue.empty():
                queue.get_nowait()
        self.pending = 0
        self.posted = 0

    async def post(self, webhook: Webhook) -> WebhookAnswer:
        """Post one webhook now and wait for the answer."""
        if self._session is None:
            raise RuntimeError("the Twilio stand-in is not running")
        data = urlencode(webhook.params)
        try:
            async with self._session.post(
                webhook.url, data=data, headers=webhook.headers
            ) as response:
                return WebhookAnswer(response.status, await response.text(), None)
        except Exception as error:  # a failed webhook is an outcome to record, not a crash
            _logger.info("webhook to %s failed: %r", webhook.url, error)
            return WebhookAnswer(None, "", type(error).__name__)

    def status_changed(self, message: Message) -> None:
        """Queue the callback for the status `message` has just taken."""
        url = message.status_callback
        if not url:
            return
        carrier = self.config.carrier
        webhook = self.sign(url, status_params(message, self.config.account_sid))
        held = self._held.pop(message.sid, None)
        if carrier.callback_drop_rate and self.rng.random() < carrier.callback_drop_rate:
            self.dropped += 1
            if held is not None:  # the held-back older one still goes, alone (counted already)
                self._later(message, [held])
            return
        batch = [webhook]
        if held is not None:
            batch.append(held)  # the held-back older status goes after this newer one
        elif not message.final and carrier.callback_reorder_rate:
            if self.rng.random() < carrier.callback_reorder_rate:
                self._held[message.sid] = webhook
                self.pending += 1
                return
        if carrier.callback_duplicate_rate and self.rng.random() < carrier.callback_duplicate_rate:
            batch.insert(1, webhook)
        self.pending += len(batch) - (1 if held is not None else 0)
        self._later(message, batch)

    def _later(self, message: Message, batch: list[Webhook]) -> None:
        """Post `batch` (counted in `pending` already) after the carrier's callback delay."""
        delay = self.config.carrier.callback_delay
        if delay:
            asyncio.get_running_loop().call_later(delay, self._route, self._epoch, message, batch)
        else:
            self._route(self._epoch, message, batch)

    def sign(self, url: str, params: dict[str, str]) -> Webhook:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": _USER_AGENT,
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "X-Twilio-Signature": signature(self.config.auth_token, url, params.items()),
        }
        return Webhook(url, params, headers)

    def _route(self, epoch: int, message: Message, batch: list[Webhook]) -> None:
        if epoch != self._epoch:
            return
        workers = self.config.carrier.callback_concurrency
        if self._session is not None:  # stopped: nothing is posted any more
            self._grow(workers)
        if len(self._queues) < workers:
            return
        queue = self._queues[hash(message.sid) % workers]
        for webhook in batch:
            queue.put_nowait((epoch, message, webhook.params["MessageStatus"], webhook))

    async def _work(self, queue: asyncio.Queue[tuple[int, Message, str, Webhook]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            epoch, message, status, webhook = await queue.get()
            if epoch != self._epoch:
                continue
            answer = await self.post(webhook)
            result: int | str = answer.status if answer.status is not None else str(answer.error)
            message.callbacks.append(CallbackAttempt(status, loop.time(), result))
            if epoch == self._epoch:
                self.pending -= 1
                self.posted += 1


def status_params(message: Message, account_sid: str) -> dict[str, str]:
    """The form fields of Twilio's status callback for an SMS."""
    params = {
        "AccountSid": account_sid,
        "ApiVersion": API_VERSION,
        "MessageSid": message.sid,
        "MessageStatus": message.status,
        "SmsSid": message.sid,
        "SmsStatus": message.status,
        "To": message.to,
    }
    if message.from_ is not None:
        params["From"] = message.from_
    if message.messaging_service_sid is not None:
        params["MessagingServiceSid"] = message.messaging_service_sid
    if message.error_code is not None:
        params["ErrorCode"] = str(message.error_code)
    if message.status in ("delivered", "partially_delivered", "undelivered"):
        params["RawDlrDoneDate"] = time.strftime("%y%m%d%H%M", time.gmtime())
    return params
