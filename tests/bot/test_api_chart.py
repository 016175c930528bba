"""GET /v1/sms/campaigns/{id}/chart.png through real HTTP: the chart as a PNG, and its errors."""

from __future__ import annotations

import asyncio
import io
import threading
from collections import Counter

from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from bot.api.chart import CHARTS, JOBS, Charts
from bot.app import create_web_app
from campaigns.recipients import check_recipient_list
from campaigns.service import NewCampaign, create_campaign
from campaigns.service.sending import finish_if_complete
from campaigns.status import RecipientStatus
from charts.renderer import PNG_SIGNATURE, ChartRenderer
from tests.bot.conftest import Api
from tests.charts.test_renderer import png_size
from tests.worker.test_reporting import receipts, refuse, submit

BODY = {
    "name": "Spring sale",
    "message_template": "Hi {{n}}, 20% off this week",
    "recipients": [{"phone": f"+4477009{i:05d}", "variables": {"n": str(i)}} for i in range(6)],
    "from_number": "+14155550100",
}


async def sending_campaign(api: Api) -> str:
    response = await api.client.post("/v1/sms/campaigns", json=BODY, headers=api.auth)
    assert response.status == 201, await response.text()
    return (await response.json())["campaign_id"]


async def error_of(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status == status, await response.text()
    return (await response.json())["error"]


async def test_the_chart_of_a_campaign_that_sent(api: Api) -> None:
    ctx = api.runtime.ctx
    cid = await sending_campaign(api)
    sids = await submit(ctx, cid, 5)
    await receipts(ctx, sids[:4], RecipientStatus.DELIVERED)
    await refuse(ctx, cid, 1, 21211, "Invalid 'To' Phone Number")
    response = await api.client.get(f"/v1/sms/campaigns/{cid}/chart.png", headers=api.auth)
    assert response.status == 200, await response.text()
    assert response.content_type == "image/png"
    assert response.headers["Cache-Control"] == "no-cache"  # receipts are still arriving
    png = await response.read()
    assert png_size(png) == (600, 300)
    Image.open(io.BytesIO(png)).load()

    await receipts(ctx, sids[4:], RecipientStatus.DELIVERED)
    assert await finish_if_complete(ctx, cid) is not None
    response = await api.client.get(f"/v1/sms/campaigns/{cid}/chart.png", headers=api.auth)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "private, max-age=3600"  # it will not change


async def test_a_campaign_that_sent_nothing_yet_is_409(api: Api) -> None:
    running = await sending_campaign(api)  # running, but no worker: nothing sent
    view = await create_campaign(
        api.runtime.ctx,
        NewCampaign(
            name="Draft", message_template="Hi", recipients=check_recipient_list(
                [{"phone": "+447700900001"}], "GB"), from_numbers=["+14155550100"],
            send_at=None, source="api", consent_confirmed=True,
        ),
        "api:test",
        launch=False,
    )  # fmt: skip
    assert view.campaign.status == "draft"
    for cid in (running, view.campaign.id):
        response = await api.client.get(f"/v1/sms/campaigns/{cid}/chart.png", headers=api.auth)
        error = await error_of(response, 409)
        assert error["code"] == "conflict" and "Nothing has been sent" in error["message"]


async def test_an_unknown_campaign_is_404_and_a_missing_key_401(api: Api) -> None:
    response = await api.client.get("/v1/sms/campaigns/smsc_nosuch/chart.png", headers=api.auth)
    assert (await error_of(response, 404))["code"] == "not_found"
    response = await api.client.get("/v1/sms/campaigns/smsc_nosuch/chart.png")
    assert response.status == 401


async def test_a_chart_that_cannot_be_drawn_is_503_with_retry_after(api: Api) -> None:
    cid = await sending_campaign(api)
    await submit(api.runtime.ctx, cid, 2)
    app = create_web_app(api.runtime)
    app[CHARTS] = Charts(ChartRenderer(python="/nonexistent/python3"))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        response = await client.get(f"/v1/sms/campaigns/{cid}/chart.png", headers=api.auth)
        assert (await error_of(response, 503))["code"] == "chart_unavailable"
        assert response.headers["Retry-After"] == "5"
    finally:
        await client.close()


# -- many requests at once (issue 21, point 9): one drawing per state, a bounded number in hand


class CountingRenderer(ChartRenderer):
    """The real renderer (a child process per drawing), counting the drawings it starts."""

    def __init__(self) -> None:
        super().__init__()
        self.drawings = 0

    async def _run(self, data: bytes) -> bytes:
        self.drawings += 1
        return await super()._run(data)


class HeldRenderer(CountingRenderer):
    """Each drawing waits for `hold`, then answers a PNG of its own instead of starting a child:
    what is tested is how many are let in, and ten real drawings would take 15 s here."""

    def __init__(self, hold: threading.Event) -> None:
        super().__init__()
        self.hold = hold

    async def _run(self, data: bytes) -> bytes:
        self.drawings += 1
        await asyncio.to_thread(self.hold.wait, 30)
        return PNG_SIGNATURE + data


async def chart_of(api: Api, cid: str):  # type: ignore[no-untyped-def]
    return await api.client.get(f"/v1/sms/campaigns/{cid}/chart.png", headers=api.auth)


async def healthz_while(api: Api, work: asyncio.Future) -> Counter[int]:  # type: ignore[type-arg]
    """/healthz's answers, asked every 20 ms until `work` is done."""
    answers: Counter[int] = Counter()
    while not work.done():
        answers[(await api.client.get("/healthz")).status] += 1
        await asyncio.sleep(0.02)
    return answers


async def test_the_same_state_is_drawn_once_however_often_it_is_asked(api: Api) -> None:
    renderer = CountingRenderer()
    api.client.app[CHARTS].renderer = renderer
    ctx = api.runtime.ctx
    cid = await sending_campaign(api)
    sids = await submit(ctx, cid, 4)
    first = await chart_of(api, cid)
    assert first.status == 200
    png = await first.read()

    # Sixty at once, the campaign unchanged: the chart already drawn, /healthz answered.
    many = asyncio.gather(*(chart_of(api, cid) for _ in range(60)))
    health = await healthz_while(api, many)
    answers = await many
    assert {r.status for r in answers} == {200}
    assert {await r.read() for r in answers} == {png}
    assert renderer.drawings == 1
    assert set(health) == {200}

    await receipts(ctx, sids[:2], RecipientStatus.DELIVERED)  # a new state: drawn again, once
    changed = await asyncio.gather(*(chart_of(api, cid) for _ in range(20)))
    assert {r.status for r in changed} == {200}
    assert len({await r.read() for r in changed}) == 1
    assert renderer.drawings == 2


async def test_sixty_requests_over_several_campaigns_keep_healthz_answering(api: Api) -> None:
    renderer = CountingRenderer()
    api.client.app[CHARTS].renderer = renderer
    cids = [await sending_campaign(api) for _ in range(3)]
    for cid in cids:
        await submit(api.runtime.ctx, cid, 3)
    many = asyncio.gather(*(chart_of(api, cids[i % 3]) for i in range(60)))
    health = await healthz_while(api, many)
    assert {r.status for r in await many} == {200}
    assert renderer.drawings == 3
    assert set(health) == {200}, health


async def test_charts_past_the_bound_are_503_with_retry_after_at_once(api: Api) -> None:
    hold = threading.Event()
    renderer = HeldRenderer(hold)
    api.client.app[CHARTS].renderer = renderer
    cids = [await sending_campaign(api) for _ in range(JOBS + 1)]
    for cid in cids:
        await submit(api.runtime.ctx, cid, 2)
    in_hand = [asyncio.create_task(chart_of(api, cid)) for cid in cids[:JOBS]]
    try:
        charts = api.client.app[CHARTS]
        async with asyncio.timeout(30):
            # Two drawing, the rest waiting for a slot: every request in hand, not only the
            # first two (on a busy database the others may still be checking their key).
            while renderer.drawings < 2 or len(charts._jobs) < JOBS:
                await asyncio.sleep(0.02)
        refused = await chart_of(api, cids[JOBS])
        error = await error_of(refused, 503)
        assert error["code"] == "busy"
        assert refused.headers["Retry-After"] == "5"
        # Another request for a chart in hand waits with it, and /healthz answers meanwhile.
        again = asyncio.create_task(chart_of(api, cids[0]))
        assert (await api.client.get("/healthz")).status == 200
        await asyncio.sleep(0.1)
        assert not again.done()
    finally:
        hold.set()
    answers = await asyncio.gather(*in_hand, again)
    assert {r.status for r in answers} == {200}
    assert renderer.drawings == JOBS
    assert (await chart_of(api, cids[JOBS])).status == 200  # room again
