"""GET /v1/sms/campaigns/{id}/chart.png through real HTTP: the chart as a PNG, and its errors."""

from __future__ import annotations

import io

from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from bot.api.chart import CHARTS
from bot.app import create_web_app
from campaigns.recipients import check_recipient_list
from campaigns.service import NewCampaign, create_campaign
from campaigns.service.sending import finish_if_complete
from campaigns.status import RecipientStatus
from charts.renderer import ChartRenderer
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
    app[CHARTS] = ChartRenderer(python="/nonexistent/python3")
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        response = await client.get(f"/v1/sms/campaigns/{cid}/chart.png", headers=api.auth)
        assert (await error_of(response, 503))["code"] == "chart_unavailable"
        assert response.headers["Retry-After"] == "5"
    finally:
        await client.close()
