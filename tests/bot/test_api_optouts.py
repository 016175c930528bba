"""/v1/sms/optouts through real HTTP: the suppression list, and opt-outs made by hand."""

from __future__ import annotations

import csv
import io

from bot.stops import StopWatch
from campaigns.service import opt_out_history, opted_out_among
from campaigns.service.inbound import IncomingSms, record_inbound
from tests.bot.conftest import Api

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
        (PHONE, "api", None),
        ("+447700900002", "sms", "STOP"),
    ]  # the most recent first
    assert rows[0]["by"] == f"api:{web.key_id}"
    exported = await web.client.get("/v1/sms/optouts", params={"format": "csv"}, headers=web.auth)
    assert exported.content_type == "text/csv"
    table = list(csv.reader(io.StringIO((await exported.read()).decode("utf-8-sig"))))
    assert table[0][:4] == ["phone", "opted_out_since_utc", "keyword", "source"]
    assert table[1][0] == "'" + PHONE  # neutralised: a spreadsheet never runs a cell
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
        "optouts": []
    }
