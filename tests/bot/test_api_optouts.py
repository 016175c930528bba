"""/v1/sms/optouts through real HTTP: the suppression list, and opt-outs made by hand."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy import insert

from bot.api import optouts as optouts_api
from bot.api.export import PAGES_AT_ONCE
from bot.stops import StopWatch
from campaigns.models import OptOut, OptOutEvent
from campaigns.service import opt_out_history, opted_out_among, record_opt_in, record_opt_out
from campaigns.service.context import Context
from campaigns.service.inbound import IncomingSms, record_inbound
from campaigns.service.optouts import suppression_csv_chunks
from campaigns.suppression_export import header_bytes
from tests.bot.conftest import Api
from tests.bot.test_api_campaigns import error_of
from tests.conftest import Clock

PHONE = "+447700900001"


async def test_an_opt_out_by_hand_is_recorded_with_the_key_and_reaches_the_senders(
    web: Api,
) -> None:
    watch = StopWatch(web.runtime.redis, web.runtime.settings.REDIS_NAMESPACE)
    added = await web.client.post("/v1/sms/optouts", json={"phone": PHONE}, headers=web.auth)
    assert added.status == 201, await added.text()
    assert await added.json() == {"phone": PHONE, "opted_out": True, "changed": True}
    again = await web.client.post("/v1/sms/optouts", json={"phone": PHONE}, headers=web.auth)
    assert again.status == 200 and (await again.json())["changed"] is False
    await watch.refresh()
    assert watch.stopped(PHONE)
    [event, _] = await opt_out_history(web.runtime.ctx, PHONE)
    assert (event.source, event.actor) == ("api", f"api:{web.key_id}")

    removed = await web.client.delete("/v1/sms/optouts", params={"phone": PHONE}, headers=web.auth)
    assert removed.status == 200 and (await removed.json())["changed"] is True
    assert not await opted_out_among(web.runtime.ctx, [PHONE])
    await watch.refresh()
    assert not watch.stopped(PHONE)


async def test_the_list_says_since_when_how_and_by_whom_as_json_or_csv(web: Api) -> None:
    await record_inbound(web.runtime.ctx, IncomingSms("SM1", "+447700900002", "+14155550100",
                                                      "STOP"))  # fmt: skip
    await web.client.post("/v1/sms/optouts", json={"phone": PHONE}, headers=web.auth)
    listed = await web.client.get("/v1/sms/optouts", headers=web.auth)
    rows = (await listed.json())["optouts"]
    assert [(r["phone"], r["source"], r["keyword"]) for r in rows] == [
        ("+447700900002", "sms", "STOP"),
        (PHONE, "api", None),
    ]  # in the order they opted out, so a walk through the pages is stable
    assert rows[1]["by"] == f"api:{web.key_id}"
    exported = await web.client.get("/v1/sms/optouts", params={"format": "csv"}, headers=web.auth)
    assert exported.content_type == "text/csv"
    table = list(csv.reader(io.StringIO((await exported.read()).decode("utf-8-sig"))))
    assert table[0][:4] == ["phone", "opted_out_since_utc", "keyword", "source"]
    assert table[2][0] == "'" + PHONE  # neutralised: a spreadsheet never runs a cell
    by_accept = await web.client.get("/v1/sms/optouts", headers={**web.auth, "Accept": "text/csv"})
    assert by_accept.content_type == "text/csv"


async def test_bad_numbers_and_bodies_are_refused_and_change_nothing(web: Api) -> None:
    for body, status in (({"phone": "07700 900001"}, 422), ({"phone": ""}, 400),
                         ({"number": PHONE}, 400), ([PHONE], 400)):  # fmt: skip
        answer = await web.client.post("/v1/sms/optouts", json=body, headers=web.auth)
        assert answer.status == status, (body, await answer.text())
    no_phone = await web.client.delete("/v1/sms/optouts", headers=web.auth)
    assert no_phone.status == 400
    unsigned = await web.client.post("/v1/sms/optouts", json={"phone": PHONE})
    assert unsigned.status == 401
    assert (await (await web.client.get("/v1/sms/optouts", headers=web.auth)).json()) == {
        "optouts": [],
        "next_cursor": None,
    }


# -- paging the list, and the streamed export


async def opted_out_in_bulk(ctx: Context, count: int) -> list[str]:
    """`count` numbers opted out by text, stored in one go (the paths that record one at a time
    are tested above; thousands of them would make this test slow)."""
    phones = [f"+4474{i:08d}" for i in range(count)]
    at = ctx.now()
    async with ctx.db.transaction() as session:
        await session.execute(insert(OptOut), [
            {"phone": p, "opted_out": True, "updated_at": at} for p in phones])  # fmt: skip
        await session.execute(insert(OptOutEvent), [
            {"phone": p, "opted_out": True, "at": at, "source": "sms", "keyword": "STOP"}
            for p in phones])  # fmt: skip
    return phones


Between = Callable[[int], Awaitable[None]]


async def walk(web: Api, limit: int, between: Between | None = None) -> list[dict[str, Any]]:
    """Every row of the list, following next_cursor; `between(n)` runs after the n-th page."""
    seen: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        answer = await web.client.get("/v1/sms/optouts", params=params, headers=web.auth)
        assert answer.status == 200, await answer.text()
        body = await answer.json()
        assert set(body) == {"optouts", "next_cursor"}
        assert 1 <= len(body["optouts"]) <= limit
        seen += body["optouts"]
        pages += 1
        if between is not None:
            await between(pages)
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


async def test_paging_walks_every_opt_out_once_even_as_the_list_changes(
    web: Api, clock: Clock
) -> None:
    ctx = web.runtime.ctx
    phones = [f"+4477009000{i:02d}" for i in range(25)]
    first_stop: dict[str, datetime] = {}
    for phone in phones:
        clock.advance(minutes=1)
        first_stop[phone] = clock.now
        await record_opt_out(ctx, phone, source="sms", keyword="STOP")
    added = [f"+4477009001{i:02d}" for i in range(3)]

    async def meanwhile(page: int) -> None:
        clock.advance(minutes=1)
        if page == 1:  # the walk has seen phones[:10]
            await record_opt_out(ctx, phones[3], source="sms", keyword="STOP")  # seen: again
            await record_opt_out(ctx, phones[15], source="api", actor="api:k")  # not yet seen
            await record_opt_in(ctx, phones[20], source="sms", keyword="START")  # gone
            for phone in added[:2]:
                await record_opt_out(ctx, phone, source="sms", keyword="STOP")
        elif page == 2:
            await record_opt_out(ctx, added[2], source="sms", keyword="STOP")

    seen = await walk(web, 10, meanwhile)
    # In the order they opted out, each once: a second STOP does not move a number, one that
    # opted back in is left out, and those that opted out during the walk come at its end.
    expected = [p for p in phones if p != phones[20]] + added
    assert [row["phone"] for row in seen] == expected
    again = next(row for row in seen if row["phone"] == phones[15])
    # "since" is the opt-out that began it, not the later one by hand
    assert (again["since"], again["source"], again["keyword"]) == (
        first_stop[phones[15]].isoformat().replace("+00:00", "Z"), "sms", "STOP")  # fmt: skip


async def test_a_page_is_100_by_default_and_at_most_1000(web: Api) -> None:
    await opted_out_in_bulk(web.runtime.ctx, 1_050)
    default = await (await web.client.get("/v1/sms/optouts", headers=web.auth)).json()
    assert len(default["optouts"]) == 100 and default["next_cursor"]
    most = await web.client.get("/v1/sms/optouts", params={"limit": "1000"}, headers=web.auth)
    page = await most.json()
    assert len(page["optouts"]) == 1_000
    rest = await web.client.get("/v1/sms/optouts", params={"limit": "1000",
                                "cursor": page["next_cursor"]}, headers=web.auth)  # fmt: skip
    assert [len((body := await rest.json())["optouts"]), body["next_cursor"]] == [50, None]


@pytest.mark.parametrize("limit", ["0", "1001", "abc", "-1", "1.5", "²", "", "99999999999"])
async def test_a_bad_limit_is_400_saying_what_to_send(web: Api, limit: str) -> None:
    answer = await web.client.get("/v1/sms/optouts", params={"limit": limit}, headers=web.auth)
    error = await error_of(answer, 400)
    assert error["field"] == "limit"
    assert error["message"] == "limit must be a whole number from 1 to 1000."


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor", ["garbage", "%%%", cursor_of("12x"), cursor_of("1|2"), cursor_of("²"),
               cursor_of("9" * 19)],
)  # fmt: skip
async def test_a_cursor_not_ours_is_refused_like_the_other_lists(web: Api, cursor: str) -> None:
    """422 with the cursor named, as for a campaign's recipients (README: "a cursor this
    server did not give out")."""
    answer = await web.client.get("/v1/sms/optouts", params={"cursor": cursor}, headers=web.auth)
    error = await error_of(answer, 422)
    assert error["field"] == "cursor"
    assert error["message"] == "The cursor is not one this server gave out."


async def test_the_csv_export_streams_every_opt_out_once(web: Api) -> None:
    phones = await opted_out_in_bulk(web.runtime.ctx, 2 * 1_000 + 345)  # three pages of rows
    answer = await web.client.get("/v1/sms/optouts.csv", headers=web.auth)
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="suppression-list.csv"'
    assert answer.headers["Cache-Control"] == "no-store"  # phone numbers: personal data
    assert answer.headers.get("Transfer-Encoding") == "chunked"  # streamed, not built whole
    data = await answer.read()
    assert data.startswith("\ufeff".encode())  # so Excel reads accents right
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == ["phone", "opted_out_since_utc", "keyword", "source", "by", "campaign_id"]
    assert [row[0] for row in table[1:]] == ["'" + p for p in phones]  # each once, in order
    assert table[1][1:4] == ["2026-11-23 09:00:00", "STOP", "sms"]
    # The list's route still answers CSV to those who asked it for one: the same file.
    same = await web.client.get("/v1/sms/optouts", params={"format": "csv"}, headers=web.auth)
    assert same.headers.get("Transfer-Encoding") == "chunked" and await same.read() == data
    assert (await web.client.get("/v1/sms/optouts.csv")).status == 401


async def test_an_export_that_fails_part_way_breaks_the_download(
    web: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await opted_out_in_bulk(web.runtime.ctx, 30)

    async def failing(ctx: Context) -> AsyncIterator[bytes]:
        async for chunk in suppression_csv_chunks(ctx, page_size=10):
            yield chunk
            raise RuntimeError("the database went away")  # after the header

    monkeypatch.setattr(optouts_api, "suppression_csv_chunks", failing)
    async with web.client.get("/v1/sms/optouts.csv", headers=web.auth) as answer:
        assert answer.status == 200  # sent before the failure
        with pytest.raises((aiohttp.ClientPayloadError, aiohttp.ClientConnectionError)):
            await answer.read()  # never a shorter file that looks complete


async def test_many_exports_at_once_build_two_pages_at_a_time(
    web: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten exports of 100,000 each building their pages at once held /healthz for seconds
    (bench/optouts_100k.py): pages are built in turns, each download still progressing."""
    building, most = 0, 0

    async def slow_pages(_ctx: Context) -> AsyncIterator[bytes]:
        nonlocal building, most
        yield header_bytes()
        for _ in range(3):
            building += 1
            most = max(most, building)
            await asyncio.sleep(0.02)  # reading a page from the database
            building -= 1
            yield b"'+447700900001,2026-11-23 09:00:00,STOP,sms,,\r\n"

    monkeypatch.setattr(optouts_api, "suppression_csv_chunks", slow_pages)
    answers = await asyncio.gather(*(
        web.client.get("/v1/sms/optouts.csv", headers=web.auth) for _ in range(5)))  # fmt: skip
    bodies = [await answer.read() for answer in answers]
    assert all(body.count(b"\r\n") == 4 for body in bodies)  # every download whole
    assert most == PAGES_AT_ONCE == 2
