"""An uploaded picture from the compose modal to Twilio: signed Slack requests into the running
web app, a real arq worker, the twilio SDK against the Twilio stand-in, and Twilio's fetch of
the picture over real HTTP from PUBLIC_BASE_URL/media/<token> (both databases)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import aiohttp
import pytest

from bot.blocks.preview import CONFIRM, SEND_TEST
from bot.blocks.test_send import TEST
from bot.jobs import enqueue_start
from campaigns.db import Database
from campaigns.media_files import checked_upload
from campaigns.media_tokens import MARGIN_SECONDS
from campaigns.recipients import check_recipient_list
from campaigns.service import create_campaign, get_campaign
from sandbox.slack import ALICE, CAMPAIGNS, SIGNING_SECRET, requests
from tests.campaigns.test_media_files import png
from tests.campaigns.test_service_create import new_campaign
from tests.conftest import Clock, make_settings
from tests.worker.stack import running_stack
from tests.worker.test_slack_to_sms import ONE, post, preview_of, submit, top, until
from worker.media_links import MediaLinks, PicturesUnreachable

TESTER = "+14155550199"


async def fetch(url: str) -> tuple[int, str | None, bytes]:
    """As Twilio fetches a MediaUrl: a plain GET, no credentials."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type"), await response.read()


async def test_an_uploaded_png_reaches_twilio_as_a_link_it_can_fetch(db: Database) -> None:
    async with running_stack(db, senders={ONE: 50.0}, callbacks=True, slack=True,
                             DEFAULT_REGION="US") as stack:  # fmt: skip
        slack = stack.slack
        assert slack is not None
        await stack.start_worker()
        picture = png(padding=50_000)
        upload = slack.add_file("offer.png", picture)
        values = {
            "name": "Market day", "sender": ONE, "paste": "+14155550123\n+14155550124\n+14155550125",
            "message": "Market day on Saturday! Reply STOP to opt out", "when": "now",
            "consent": ["yes"], "pictures": [slack.file_object(upload.id)],
        }  # fmt: skip
        preview = await preview_of(stack, values)
        assert "an uploaded picture" in str(preview["blocks"])
        # Send a test to me carries the picture too, as a link of its own.
        await post(stack, requests.block_actions(SIGNING_SECRET, SEND_TEST, view=preview,
                                                 sandbox_url=slack.url))  # fmt: skip
        slack.workspace.user(ALICE).phone = TESTER  # a test goes to the profile's number
        await submit(stack, await until(lambda: top(stack, TEST)), {})
        [test] = await until(lambda: stack.twilio.sandbox.messages(to=TESTER))
        [test_url] = test.media_urls
        assert await fetch(test_url) == (200, "image/png", picture)
        await post(stack, requests.block_actions(SIGNING_SECRET, CONFIRM, view=preview,
                                                 sandbox_url=slack.url))  # fmt: skip
        campaign_id = preview["blocks"][-1]["elements"][0]["value"]
        await stack.until_finished(campaign_id, timeout=30)

        sent = [m for m in stack.twilio.sandbox.messages() if m.to != TESTER]
        assert sorted(m.to for m in sent) == ["+14155550123", "+14155550124", "+14155550125"]
        base = f"{stack.settings.PUBLIC_BASE_URL}/media/"
        for message in sent:
            [url] = message.media_urls
            assert url.startswith(base)
            assert await fetch(url) == (200, "image/png", picture)
            # Valid for as long as Twilio may hold the message, and then some.
            expires = int(url.removeprefix(base).split(".")[1])
            lifetime = stack.settings.MESSAGE_VALIDITY_SECONDS + MARGIN_SECONDS
            assert lifetime - 60 < expires - time.time() <= lifetime * 1.25
        # One link for them all (Twilio caches a file by its URL), two if a quarter began.
        assert len({m.media_urls[0] for m in sent}) <= 2

        token = sent[0].media_urls[0].removeprefix(base)
        file_id, expires_text, signature = token.split(".")
        for refused in (
            base, base.rstrip("/"), base + file_id, base + f"{file_id}.{expires_text}.{forged(signature)}",
            base + f"{file_id}.{int(expires_text) + 86_400}.{signature}",
        ):  # fmt: skip
            status, _, body = await fetch(refused)
            assert status == 404 and picture not in body, refused

        detail = await get_campaign(stack.ctx, campaign_id, recipients_limit=10)
        assert detail.view.campaign.status == "done"
        assert [r.segments for r in detail.recipients] == [1, 1, 1]
        progress = slack.messages(CAMPAIGNS)[0]  # the summary may follow, also in the channel
        [summary] = await until(lambda: slack.thread(CAMPAIGNS, progress.ts), timeout=15)
        assert "3 picture messages sent" in str(summary.blocks)


def test_links_last_a_lifetime_and_are_the_same_within_a_quarter_of_it() -> None:
    settings = make_settings(PUBLIC_BASE_URL="https://sms.example.com",
                             TWILIO_AUTH_TOKEN="t", MESSAGE_VALIDITY_SECONDS=14_400)  # fmt: skip
    lifetime = 14_400 + MARGIN_SECONDS
    quarter = lifetime // 4
    start = datetime.fromtimestamp(1_000 * quarter, UTC)  # the start of a quarter
    clock = Clock(start)
    ref = "upload:med_" + "a" * 20
    links = MediaLinks([ref, "https://cdn.example.com/a.jpg"], settings, clock)
    other_loop = MediaLinks([ref], settings, clock)

    def expiry(urls: tuple[str, ...]) -> int:
        return int(urls[0].split("/media/")[1].split(".")[1])

    first = links.urls()
    assert first[0].startswith("https://sms.example.com/media/med_" + "a" * 20 + ".")
    assert first[1] == "https://cdn.example.com/a.jpg"
    assert expiry(first) - clock().timestamp() == lifetime + quarter
    clock.advance(seconds=quarter - 1)
    assert links.urls() == first and other_loop.urls()[0] == first[0]  # one URL for all
    assert expiry(first) - clock().timestamp() == lifetime + 1  # never less than a lifetime
    clock.advance(seconds=1)
    renewed = links.urls()
    assert renewed != first and expiry(renewed) - clock().timestamp() == lifetime + quarter

    # Without PUBLIC_BASE_URL Twilio could not fetch an upload: no message goes without it.
    unreachable = MediaLinks([ref, "https://cdn.example.com/a.jpg"], make_settings(), clock)
    with pytest.raises(PicturesUnreachable, match="PUBLIC_BASE_URL"):
        unreachable.urls()
    plain = ("https://cdn.example.com/a.jpg",)
    assert MediaLinks(plain, make_settings(), clock).urls() == plain


async def test_a_campaign_whose_uploads_cannot_be_linked_pauses_and_sends_nothing(
    db: Database,
) -> None:
    """PUBLIC_BASE_URL was removed after the campaign with an uploaded picture was confirmed:
    the worker holds every message (none goes without its picture) and pauses the campaign,
    saying what to set; its recipients stay pending, to go once someone resumes it."""
    async with running_stack(db, senders={ONE: 50.0}, DEFAULT_REGION="US") as stack:
        assert stack.settings.PUBLIC_BASE_URL is None
        upload = checked_upload("offer.png", png())
        people = check_recipient_list([{"phone": "+14155550123"}, {"phone": "+14155550124"}], "US")
        view = await create_campaign(stack.ctx, new_campaign(recipients=people, from_numbers=[ONE],
                                                             uploads=[upload]), "slack:U1")  # fmt: skip
        campaign_id = view.campaign.id
        await enqueue_start(stack.bot.redis, stack.settings.REDIS_NAMESPACE, campaign_id,
                            view.campaign.version)  # fmt: skip
        await stack.start_worker()
        async with asyncio.timeout(15):  # paused, and its claims handed back (a flush later)
            while True:
                detail = await get_campaign(stack.ctx, campaign_id)
                statuses = [r.status for r in detail.recipients]
                if detail.view.campaign.status == "paused" and statuses == ["pending"] * 2:
                    break
                await asyncio.sleep(0.05)
        reason = detail.view.campaign.pause_reason or ""
        assert "uploaded pictures cannot be sent" in reason and "PUBLIC_BASE_URL" not in reason
        assert stack.twilio.sandbox.messages() == []


def forged(signature: str) -> str:
    """`signature` with its first character changed (to "x", or "y" when it already is "x": a
    signature that began with "x" once made the "forged" one the real one, 1 run in 64)."""
    return ("y" if signature[0] == "x" else "x") + signature[1:]
