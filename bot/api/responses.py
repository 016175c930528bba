"""The API's JSON for campaigns and recipients."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from campaigns.content_checks import content_warnings
from campaigns.messages import MessageStats
from campaigns.models import InboundMessage, Recipient
from campaigns.service import CampaignView, Preview
from campaigns.service.recent import RecentlyTexted
from campaigns.settings import Settings


def timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def etag(version: int) -> str:
    """A campaign's ETag: its version, which every change of what it is or will do moves on."""
    return f'"{version}"'


def _money(amount: Decimal) -> float:
    return float(amount.quantize(Decimal("0.000001")))


def campaign_json(view: CampaignView, settings: Settings) -> dict[str, Any]:
    campaign, counts = view.campaign, view.counts
    stats = MessageStats.from_json(campaign.message_stats)
    return {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "source": campaign.source,
        "message_template": campaign.message_template,
        "from_numbers": list(campaign.from_numbers),
        "media_urls": list(campaign.media_urls or ()),
        "sender_mode": campaign.sender_mode,
        "scheduled_at": timestamp(campaign.scheduled_at),
        "send_hours": campaign.send_hours or settings.SEND_HOURS,
        "waiting_count": counts.waiting,
        "next_release_at": timestamp(counts.next_release),
        "created_at": timestamp(campaign.created_at),
        "created_by": campaign.created_by,
        "agent_id": campaign.agent_id,
        "version": campaign.version,
        "total_count": counts.total,
        "delivered_count": counts.delivered,
        "failed_count": counts.failed,
        "pending_count": counts.pending,
        "cancelled_count": counts.cancelled,
        "awaiting_receipt_count": counts.awaiting_receipt,
        "segments": stats.total_segments,
        "encoding": stats.encoding,
        "estimated_cost": _money(stats.cost(settings.PRICE_PER_SEGMENT, settings.PRICE_PER_MMS)),
        "currency": settings.PRICE_CURRENCY,
    }


def created_json(view: CampaignView, settings: Settings) -> dict[str, Any]:
    """The create answer also says what was left out of the list, and why, and what to fix in
    the message: the preview's warnings, `{code, message}` each."""
    campaign = view.campaign
    report = campaign.import_report
    stats = MessageStats.from_json(campaign.message_stats)
    warnings = [{"code": "recipient_list", "message": w} for w in report.get("warnings", [])]
    warnings += [w.to_json() for w in content_warnings(campaign.message_template, stats)]
    return {
        **campaign_json(view, settings),
        "invalid": report.get("invalid", []),
        "invalid_count": report.get("invalid_count", 0),
        "duplicates": report.get("duplicates", 0),
        "read_abroad": report.get("read_abroad", []),
        "read_abroad_count": report.get("read_abroad_count", 0),
        "warnings": warnings,
    }


def preview_json(preview: Preview, settings: Settings, name: str) -> dict[str, Any]:
    """What the Slack preview shows, as data: the same checks and figures, nothing stored."""
    report, stats, spend = preview.import_report, preview.stats, preview.spend
    warnings = [{"code": "recipient_list", "message": w} for w in report.get("warnings", [])]
    warnings += [w.to_json() for w in preview.content]
    return {
        "name": name,
        "total_count": preview.view.counts.total,
        "invalid": report.get("invalid", []),
        "invalid_count": report.get("invalid_count", 0),
        "duplicates": report.get("duplicates", 0),
        "read_abroad": report.get("read_abroad", []),
        "read_abroad_count": report.get("read_abroad_count", 0),
        "opted_out_count": preview.opted_out_count,
        "frequency_capped_count": preview.frequency_capped,
        "samples": [
            {
                "row": s.row,
                "phone": s.phone,
                "text": s.text,
                "segments": s.segments,
                "missing": list(s.missing),
            }
            for s in preview.samples
        ],
        "encoding": stats.encoding,
        "segments": stats.total_segments,
        "estimated_cost": _money(preview.cost),
        "currency": preview.currency,
        "messages_per_second": preview.messages_per_second,
        "estimated_duration_seconds": int(preview.send_duration.total_seconds()),
        "scheduled_at": timestamp(preview.send_at),
        "send_hours": preview.send_hours,
        "waiting": [
            {
                "count": g.count,
                "release_at": timestamp(g.release),
                "zone": g.zone,
                "local_time": g.local,
            }
            for g in preview.waiting
        ],
        "month_spend": _money(spend.month) if spend is not None else None,
        "monthly_budget": _money(spend.budget) if spend and spend.budget is not None else None,
        "warnings": warnings,
        "needs_approval": preview.approval,
        "refused": preview.refused,
        "to_text_count": preview.texted,
        "skipped_count": preview.skipped,
        "to_text_estimated_cost": _money(preview.cost_to_text),
        "recently_texted": _recently_json(preview.recently_texted),
        "gaps_in_every_sample": list(preview.gaps),
    }


def _recently_json(recent: RecentlyTexted | None) -> dict[str, Any] | None:
    if recent is None:
        return None
    return {"count": recent.count, "of": recent.of, "last_at": timestamp(recent.last_at),
            "last_campaign": recent.last_campaign}  # fmt: skip


def recipient_json(recipient: Recipient) -> dict[str, Any]:
    return {
        "phone": recipient.phone,
        "variables": recipient.variables,
        "status": recipient.status,
        "twilio_sid": recipient.twilio_sid,
        "error_code": recipient.error_code,
        "error_reason": recipient.error_reason,
        "outcome_unknown_since": timestamp(recipient.unknown_since),
    }


def text_json(text: InboundMessage) -> dict[str, Any]:
    """A text the recipient sent back: a reply, or STOP, START, HELP (`meaning`)."""
    return {
        "phone": text.phone,
        "to": text.sender,
        "body": text.body,
        "meaning": text.meaning,
        "keyword": text.keyword,
        "media_types": list(text.media_types or ()),
        "received_at": timestamp(text.received_at),
    }
