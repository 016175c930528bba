"""The frequency cap's count at send time: claims still in flight count in the order they were
made, so of two campaigns claiming one number at once the first sends and the second is capped
(neither both nor none)."""

from __future__ import annotations

from campaigns.frequency import parse_frequency_cap
from campaigns.recipients import check_recipient_list
from campaigns.service import Context, create_campaign
from campaigns.service.claims import claim_batch
from campaigns.service.frequency import over_frequency_cap
from tests.campaigns.test_service_create import new_campaign

SARAH = "+447700900001"
CAP = parse_frequency_cap("1/24h")


async def test_of_two_claims_in_flight_the_earlier_sends_and_the_later_is_capped(
    ctx: Context,
) -> None:
    assert CAP is not None
    same = check_recipient_list([{"phone": SARAH, "variables": {}}], "GB")
    first = await create_campaign(ctx, new_campaign(recipients=same), "slack:U1")
    second = await create_campaign(ctx, new_campaign(recipients=same), "slack:U1")
    [early] = await claim_batch(ctx, first.campaign.id, 10, token="a" * 32, lease=30)
    [late] = await claim_batch(ctx, second.campaign.id, 10, token="b" * 32, lease=30)
    assert (early.claimed_at, early.id) < (late.claimed_at, late.id)
    assert await over_frequency_cap(ctx, first.campaign.id, [early], CAP) == set()
    assert await over_frequency_cap(ctx, second.campaign.id, [late], CAP) == {late.id}
    two = parse_frequency_cap("2/24h")
    assert two is not None
    assert await over_frequency_cap(ctx, second.campaign.id, [late], two) == set()
