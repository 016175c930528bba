"""GET /v1/sms/campaigns/{id}/recipients.csv through real HTTP: the whole list, streamed page by
page, neutralised for spreadsheets; and a failure part-way breaks the download visibly."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.api import export
from campaigns.models import Recipient
from campaigns.service import StatusUpdate, apply_status_update, get_campaign, recipient_pages
from campaigns.service.context import Context
from campaigns.service.optouts import record_opt_out
from campaigns.status import RecipientStatus
from tests.bot.conftest import Api
from tests.bot.test_api_campaigns import SEED_BODY, error_of, post


async def created(api: Api, recipients: list[dict[str, object]]) -> str:
    response = await post(api, {**SEED_BODY, "recipients": recipients})
    assert response.status == 201, await response.text()
    return (await response.json())["campaign_id"]


def rows_of(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())  # so Excel reads accents right
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


async def test_the_export_has_every_recipient_and_what_happened(api: Api) -> None:
    people = [
        {"phone": "+447700900001", "variables": {"first_name": '=HYPERLINK("x")'}},
        {"phone": "+447700900002", "variables": {"first_name": "Zoë"}},
    ]
    cid = await created(api, people)
    first = (await get_campaign(api.runtime.ctx, cid)).recipients[0]
    await apply_status_update(
        api.runtime.ctx,
        StatusUpdate(RecipientStatus.FAILED, recipient_id=first.id, error_code=30003,
                     error_reason="Unreachable destination handset"),
    )  # fmt: skip
    response = await api.client.get(f"/v1/sms/campaigns/{cid}/recipients.csv", headers=api.auth)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{cid}-recipients.csv"'
    assert response.headers.get("Transfer-Encoding") == "chunked"  # streamed, not built whole
    rows = rows_of(await response.read())
    assert rows[0] == ["row", "phone", "first_name", "status", "error_code", "error_reason",
                       "sender", "twilio_sid", "last_change_utc", "opted_out_by"]  # fmt: skip
    by_phone = {row[1]: row for row in rows[1:]}
    assert set(by_phone) == {"'+447700900001", "'+447700900002"}  # a leading + is a formula
    failed = by_phone["'+447700900001"]
    assert failed[2] == '\'=HYPERLINK("x")'  # neutralised: shown as text, never run
    assert failed[3:6] == ["failed", "30003", "Unreachable destination handset"]
    assert by_phone["'+447700900002"][2:4] == ["Zoë", "pending"]


async def test_a_list_over_several_pages_comes_whole_and_in_order(api: Api) -> None:
    count = 2 * 1_000 + 345  # three pages of recipient_pages
    cid = await created(api, [{"phone": f"+4474{i:08d}"} for i in range(count)])
    response = await api.client.get(f"/v1/sms/campaigns/{cid}/recipients.csv", headers=api.auth)
    rows = rows_of(await response.read())[1:]
    assert [row[1] for row in rows] == [f"'+4474{i:08d}" for i in range(count)]
    assert [int(row[0]) for row in rows] == sorted(int(row[0]) for row in rows)


async def test_pages_are_read_one_at_a_time(api: Api) -> None:
    cid = await created(api, [{"phone": f"+4477009{i:05d}"} for i in range(25)])
    sizes = [len(page) async for page in recipient_pages(api.runtime.ctx, cid, page_size=10)]
    assert sizes == [10, 10, 5]
    exact = [len(page) async for page in recipient_pages(api.runtime.ctx, cid, page_size=25)]
    assert exact == [25]


async def test_a_failure_part_way_breaks_the_download(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = await created(api, [{"phone": f"+4477009{i:05d}"} for i in range(30)])

    async def failing(ctx: Context, campaign_id: str) -> AsyncIterator[list[Recipient]]:
        async for page in recipient_pages(ctx, campaign_id, page_size=10):
            yield page
            raise RuntimeError("the database went away")  # after the first page

    monkeypatch.setattr(export, "recipient_pages", failing)
    url = f"/v1/sms/campaigns/{cid}/recipients.csv"
    async with api.client.get(url, headers=api.auth) as response:
        assert response.status == 200  # sent before the failure
        with pytest.raises((aiohttp.ClientPayloadError, aiohttp.ClientConnectionError)):
            await response.read()  # never a shorter file that looks complete


async def test_unknown_campaigns_and_missing_keys(api: Api) -> None:
    missing = await api.client.get("/v1/sms/campaigns/smsc_nope/recipients.csv", headers=api.auth)
    await error_of(missing, 404)
    cid = await created(api, [{"phone": "+447700900001"}])
    assert (await api.client.get(f"/v1/sms/campaigns/{cid}/recipients.csv")).status == 401


async def test_the_export_says_who_opted_out_and_posts_back_as_it_was(api: Api) -> None:
    people = [
        {"phone": "+447700900001", "variables": {"first_name": "=1+1", "note": "'kept"}},
        {"phone": "+447700900002", "variables": {"first_name": "Zoë", "note": "-"}},
        {"phone": "+447700900003", "variables": {"first_name": "Ann", "note": "@x"}},
    ]
    cid = await created(api, people)
    ctx = api.runtime.ctx
    await record_opt_out(ctx, "+447700900001", source="sms", keyword="STOPALL", campaign_id=cid)
    await record_opt_out(ctx, "+447700900002", source="slack", actor="slack:U0BOB")
    await record_opt_out(ctx, "+447700900003", source="twilio_21610", campaign_id=cid)
    response = await api.client.get(f"/v1/sms/campaigns/{cid}/recipients.csv", headers=api.auth)
    data = await response.read()
    rows = rows_of(data)
    assert rows[0][-1] == "opted_out_by"
    assert [row[-1] for row in rows[1:]] == ["text STOPALL", "Slack (@U0BOB)",
                                             "carrier (error 21610)"]  # fmt: skip

    # Posted back as a new campaign's CSV: the same numbers and variables.
    again = await post(api, {**SEED_BODY, "recipients": None, "recipients_csv": data.decode()})
    assert again.status == 201, await again.text()
    second = (await again.json())["campaign_id"]
    before = (await get_campaign(ctx, cid)).recipients
    after = (await get_campaign(ctx, second)).recipients
    assert [(r.phone, r.variables) for r in after] == [(r.phone, r.variables) for r in before]
