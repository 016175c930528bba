"""The Messages REST routes, driven through the real twilio SDK."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import ClientSession
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from sandbox.twilio import RunningTwilioSandbox
from tests.sandbox.twilio_fixtures import (
    FAST_NUMBER,
    HANDSET,
    OTHER_HANDSET,
    SERVICE_SID,
    auth_headers,
)
from worker.twilio_client import close_twilio_client, create_twilio_client

SID = re.compile(r"SM[0-9a-f]{32}")
RFC2822 = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000")


async def test_create_with_from_answers_twilio_message_json(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    message = await twilio.messages.create_async(
        to=HANDSET, from_=FAST_NUMBER, body="Hello {name}, 50% off today"
    )

    assert SID.fullmatch(message.sid or "")
    assert message.status == "queued"
    assert message.num_segments == "1"
    assert message.num_media == "0"
    assert message.to == HANDSET
    assert message.from_ == FAST_NUMBER
    assert message.body == "Hello {name}, 50% off today"
    assert message.account_sid == twilio_sandbox.account_sid
    assert message.direction == "outbound-api"
    assert message.messaging_service_sid is None
    assert message.error_code is None and message.error_message is None
    assert message.price is None
    assert message.api_version == "2010-04-01"
    assert message.uri == (
        f"/2010-04-01/Accounts/{twilio_sandbox.account_sid}/Messages/{message.sid}.json"
    )
    assert message.subresource_uris == {"media": message.uri.replace(".json", "/Media.json")}
    assert message.date_created is not None
    assert abs(message.date_created - datetime.now(UTC)) < timedelta(seconds=5)
    assert message.date_sent is None  # not sent yet


async def test_raw_json_has_twilio_shapes(twilio_sandbox: RunningTwilioSandbox):
    auth = auth_headers(twilio_sandbox)
    url = f"{twilio_sandbox.url}/2010-04-01/Accounts/{twilio_sandbox.account_sid}/Messages.json"
    form = {"To": HANDSET, "From": FAST_NUMBER, "Body": "ж" * 71}  # UCS-2, two parts
    async with ClientSession() as session, session.post(url, data=form, headers=auth) as response:
        assert response.status == 201
        body = await response.json()

    assert body["num_segments"] == "2"  # a string, as Twilio sends it
    assert body["num_media"] == "0"
    assert RFC2822.fullmatch(body["date_created"])
    assert RFC2822.fullmatch(body["date_updated"])
    assert body["date_sent"] is None
    assert body["price_unit"] == "USD"
    assert set(body) >= {"error_code", "error_message", "price", "messaging_service_sid"}


async def test_create_with_messaging_service_is_accepted_then_gets_a_sender(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    message = await twilio.messages.create_async(
        to=HANDSET, messaging_service_sid=SERVICE_SID, body="Hi there"
    )

    assert SID.fullmatch(message.sid or "")
    assert message.status == "accepted"
    assert message.messaging_service_sid == SERVICE_SID
    # As Twilio: no sender and 0 segments until the service has picked a number.
    assert message.from_ is None
    assert message.num_segments == "0"

    await twilio_sandbox.sandbox.settled()
    fetched = await twilio.messages(message.sid).fetch_async()
    assert fetched.status == "delivered"
    assert fetched.from_ == FAST_NUMBER
    assert fetched.num_segments == "1"
    assert fetched.date_sent is not None
    assert fetched.price == "-0.00790"


async def test_bad_credentials_answer_401_with_code_20003(twilio_sandbox: RunningTwilioSandbox):
    client = create_twilio_client(twilio_sandbox.account_sid, "wrong-token", twilio_sandbox.url)
    try:
        with pytest.raises(TwilioRestException) as raised:
            await client.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    finally:
        await close_twilio_client(client)

    assert raised.value.status == 401
    assert raised.value.code == 20003
    assert twilio_sandbox.sandbox.messages() == []


async def test_another_accounts_path_is_not_found(twilio_sandbox: RunningTwilioSandbox):
    client = create_twilio_client(
        twilio_sandbox.account_sid, twilio_sandbox.auth_token, twilio_sandbox.url
    )
    try:
        other = client.api.v2010.accounts("AC" + "f" * 32).messages
        with pytest.raises(TwilioRestException) as raised:
            await other.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    finally:
        await close_twilio_client(client)

    assert (raised.value.status, raised.value.code) == (404, 20404)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": "+1415555", "from_": FAST_NUMBER, "body": "x"}, 21211),
        ({"to": "not a number", "from_": FAST_NUMBER, "body": "x"}, 21211),
        ({"to": HANDSET, "from_": "+14155559999", "body": "x"}, 21606),
        ({"to": HANDSET, "body": "x"}, 21603),
        ({"to": HANDSET, "from_": FAST_NUMBER}, 21602),
        ({"to": HANDSET, "from_": FAST_NUMBER, "body": "x" * 1601}, 21617),
        (
            {
                "to": HANDSET,
                "from_": FAST_NUMBER,
                "body": "x",
                "status_callback": "https://sms_gateway.example.com/twilio/status",
            },
            21609,
        ),
        (
            {
                "to": HANDSET,
                "from_": FAST_NUMBER,
                "body": "x",
                "status_callback": "https://-sms.example.com/twilio/status",
            },
            21609,
        ),
    ],
    ids=[
        "short-to",
        "text-to",
        "foreign-from",
        "no-sender",
        "no-body",
        "body-1601",
        "callback-underscore",
        "callback-bad-host",
    ],
)
async def test_refused_creates_raise_twilios_code(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox, kwargs: dict[str, str], code: int
):
    with pytest.raises(TwilioRestException) as raised:
        await twilio.messages.create_async(**kwargs)

    assert raised.value.status == 400
    assert raised.value.code == code
    assert twilio_sandbox.sandbox.messages() == []


async def test_body_of_exactly_1600_characters_is_accepted(twilio: Client):
    message = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x" * 1600)
    assert message.num_segments == "11"  # 1600 / 153, rounded up


async def test_media_without_body_is_accepted(twilio: Client):
    urls = ["https://example.com/a.png", "https://example.com/b.png"]
    message = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, media_url=urls)
    assert message.num_media == "2"
    assert message.num_segments == "1"


async def test_opted_out_recipient_raises_21610(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    await twilio_sandbox.sandbox.reply(HANDSET, FAST_NUMBER, "STOP")

    with pytest.raises(TwilioRestException) as raised:
        await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")

    assert (raised.value.status, raised.value.code) == (400, 21610)


async def test_fetch_unknown_sid_is_404_20404(twilio: Client):
    with pytest.raises(TwilioRestException) as raised:
        await twilio.messages("SM" + "0" * 32).fetch_async()
    assert (raised.value.status, raised.value.code) == (404, 20404)


async def test_list_pages_newest_first_across_three_pages(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    created = [
        (await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body=f"m{i}")).sid
        for i in range(7)
    ]
    await twilio.messages.create_async(to=OTHER_HANDSET, from_=FAST_NUMBER, body="other")
    # Listed by date_sent (Twilio's order), a message sent between two pages would move up:
    # all are sent first, in the order they were made.
    await twilio_sandbox.sandbox.settled()

    first = await twilio.messages.page_async(to=HANDSET, page_size=3)
    pages = [first]
    while (following := await pages[-1].next_page_async()) is not None:
        pages.append(following)

    assert [len(list(page)) for page in pages] == [3, 3, 1]
    listed = await twilio.messages.list_async(to=HANDSET, page_size=3)
    assert [message.sid for message in listed] == created[::-1]
    streamed = [
        message.sid
        async for message in await twilio.messages.stream_async(to=HANDSET, page_size=2, limit=5)
    ]
    assert streamed == created[::-1][:5]


async def test_list_page_keys_and_previous_page(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    for i in range(5):
        await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body=f"m{i}")
    await twilio_sandbox.sandbox.settled()  # nothing moves between the pages
    auth = auth_headers(twilio_sandbox)
    base = twilio_sandbox.url
    path = f"/2010-04-01/Accounts/{twilio_sandbox.account_sid}/Messages.json"
    async with ClientSession() as session:
        async with session.get(
            base + path, params={"To": HANDSET, "PageSize": "2"}, headers=auth
        ) as r:
            page0 = await r.json()
        async with session.get(base + page0["next_page_uri"], headers=auth) as r:
            page1 = await r.json()
        async with session.get(base + page1["previous_page_uri"], headers=auth) as r:
            back = await r.json()

    assert set(page0) == {
        "messages",
        "page",
        "page_size",
        "first_page_uri",
        "next_page_uri",
        "previous_page_uri",
        "uri",
        "start",
        "end",
    }
    assert (page0["page"], page0["page_size"], page0["start"], page0["end"]) == (0, 2, 0, 1)
    assert page0["previous_page_uri"] is None
    assert (page1["page"], page1["start"], page1["end"]) == (1, 2, 3)
    assert [m["sid"] for m in back["messages"]] == [m["sid"] for m in page0["messages"]]
    assert "To=%2B14155550123" in page1["next_page_uri"]


async def test_list_filters_by_from_and_date_sent(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    via_service = await twilio.messages.create_async(
        to=OTHER_HANDSET, messaging_service_sid=SERVICE_SID, body="a"
    )
    direct = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="b")
    await twilio_sandbox.sandbox.settled()
    now = datetime.now(UTC)

    from_ours = await twilio.messages.list_async(from_=FAST_NUMBER)
    # (in the order they were sent, which the service's queue decides: either may be first)
    assert sorted(m.sid for m in from_ours) == sorted([direct.sid, via_service.sid])
    assert await twilio.messages.list_async(from_="+14155559999") == []

    recent = await twilio.messages.list_async(
        to=HANDSET, date_sent_after=now - timedelta(minutes=1)
    )
    assert [m.sid for m in recent] == [direct.sid]
    assert await twilio.messages.list_async(date_sent_after=now + timedelta(minutes=1)) == []
    assert await twilio.messages.list_async(date_sent_before=now - timedelta(days=1)) == []
    today = await twilio.messages.list_async(date_sent=now.strftime("%Y-%m-%d"))
    assert {m.sid for m in today} == {direct.sid, via_service.sid}


async def test_unsent_message_matches_no_date_sent_filter(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    twilio_sandbox.sandbox.set_carrier(step_delay=0.5)
    message = await twilio.messages.create_async(
        to=HANDSET, messaging_service_sid=SERVICE_SID, body="x"
    )
    yesterday = datetime.now(UTC) - timedelta(days=1)

    assert await twilio.messages.list_async(to=HANDSET, date_sent_after=yesterday) == []
    assert [m.sid for m in await twilio.messages.list_async(to=HANDSET)] == [message.sid]


# What a lookup of a lost answer must not rely on: the list's order, one page, agreeing clocks,
# the body as it was asked for.


async def test_listed_by_date_sent_a_message_not_sent_yet_comes_after_the_sent_ones(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    sandbox = twilio_sandbox.sandbox
    earlier = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="earlier")
    await sandbox.settled()
    sandbox.set_carrier(step_delay=5.0)  # what is created now stays unsent (no date_sent) a while
    late = [
        (await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body=f"m{i}")).sid
        for i in range(2)
    ]

    by_date_sent = await twilio.messages.list_async(to=HANDSET)  # Twilio's order, the default
    sandbox.set_faults(list_order="created")
    created = [m.sid for m in await twilio.messages.list_async(to=HANDSET)]

    assert created == [late[1], late[0], earlier.sid]
    assert [m.sid for m in by_date_sent] == [earlier.sid, late[1], late[0]]
    assert [m.date_sent is None for m in by_date_sent] == [False, True, True]


async def test_a_list_pages_at_the_largest_page_size_set_whatever_is_asked(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    sandbox = twilio_sandbox.sandbox
    sent = [
        (await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body=f"m{i}")).sid
        for i in range(5)
    ]
    await sandbox.settled()
    for order in ("created", "date_sent"):
        sandbox.set_faults(max_page_size=2, list_order=order)
        first = await twilio.messages.page_async(to=HANDSET, page_size=1000)
        pages = [first]
        while (following := await pages[-1].next_page_async()) is not None:
            pages.append(following)

        sids = [[m.sid for m in page] for page in pages]
        assert [len(page) for page in sids] == [2, 2, 1], order
        assert [sid for page in sids for sid in page] == sent[::-1], order


async def test_twilios_dates_follow_its_clock_when_it_disagrees_with_ours(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    sandbox = twilio_sandbox.sandbox
    sandbox.set_faults(clock_offset_s=-120)  # Twilio's clock two minutes behind this machine's
    behind = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    await sandbox.settled()
    sandbox.set_faults(clock_offset_s=300)
    ahead = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="y")
    await sandbox.settled()

    now = datetime.now(UTC)
    behind = await twilio.messages(behind.sid).fetch_async()
    assert behind.date_created is not None and behind.date_sent is not None
    assert abs(behind.date_created - (now - timedelta(seconds=120))) < timedelta(seconds=3)
    assert abs(behind.date_sent - (now - timedelta(seconds=120))) < timedelta(seconds=3)
    assert ahead.date_created is not None
    assert abs(ahead.date_created - (now + timedelta(seconds=300))) < timedelta(seconds=3)
    sandbox.clear_faults()
    assert sandbox.faults.faults.clock_offset_s == 0.0


async def test_a_messaging_service_smart_encodes_look_alike_characters(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    asked = "Hi Sam \u2014 it\u2019s \u201cyour\u201d day\u2026 20%\u00a0off"  # UCS-2: 70 a part
    via_service = await twilio.messages.create_async(
        to=HANDSET, messaging_service_sid=SERVICE_SID, body=asked
    )
    from_number = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body=asked)
    with_emoji = await twilio.messages.create_async(
        to=HANDSET, messaging_service_sid=SERVICE_SID, body=asked + " \U0001f600"
    )
    await twilio_sandbox.sandbox.settled()

    listed = {m.sid: m for m in await twilio.messages.list_async(to=HANDSET)}
    assert listed[via_service.sid].body == 'Hi Sam - it\'s "your" day... 20% off'
    assert listed[via_service.sid].num_segments == "1"  # GSM-7 now
    # A number is no Messaging Service; and a body with a character that has no plain
    # look-alike stays UCS-2, so Twilio leaves it all as it is.
    assert listed[from_number.sid].body == asked
    assert listed[with_emoji.sid].body == asked + " \U0001f600"


async def test_smart_encoding_can_be_turned_off(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    twilio_sandbox.sandbox.config.smart_encoding = False
    message = await twilio.messages.create_async(
        to=HANDSET, messaging_service_sid=SERVICE_SID, body="it\u2019s"
    )
    assert message.body == "it\u2019s"
