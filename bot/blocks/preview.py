"""The preview modal: everything a person checks before anything is sent, and the Confirm button.

A pure function of the service's `Preview`. Confirm is a button with a confirm dialog that
states the recipient count and the cost (a modal's own submit button cannot ask again). Counts,
cost and samples are of those who will be texted: the opted-out and capped are skipped.

When every message shown has a placeholder left empty, the message is most likely wrong: Confirm
becomes "Send anyway" (its own action, so the listener can tell a deliberate click), with a
dialog saying what is empty, and the warning sits by the samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks.compose import Metadata, plain
from bot.blocks.text import (
    clip,
    context,
    duration,
    escape,
    header,
    local_time,
    money,
    plural,
    quoted,
    section,
    senders,
)
from campaigns.media_files import upload_id
from campaigns.send_hours import ANY
from campaigns.service import Preview
from campaigns.service.preview import WaitGroup
from campaigns.service.recent import RecentlyTexted

PREVIEW = "sms_preview"  # callback_id
CONFIRM, BACK_TO_EDIT, SEND_TEST = "preview_confirm", "preview_back", "preview_test"
CONFIRM_ANYWAY = "preview_confirm_anyway"  # Confirm when every message shown has a gap
PLAIN_CHARACTERS = "preview_plain_characters"
INVALID_SHOWN = 10


def preview_view(
    preview: Preview,
    metadata: Metadata,
    *,
    problem: str | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """`problem`: why the last Confirm did not go through, shown on top; `notice`: what the
    last button changed."""
    campaign = preview.view.campaign
    blocks: list[dict[str, Any]] = [section(f":warning: {problem}")] if problem else []
    if notice:
        blocks.append(section(f":white_check_mark: {notice}"))
    blocks += [
        header(campaign.name),
        section(_who_and_when(preview)),
        {"type": "section", "fields": _count_fields(preview)},
    ]
    invalid = _invalid_lines(preview)
    if invalid:
        blocks.append(section(invalid))
    abroad = read_abroad_lines(preview.import_report)
    if abroad:
        blocks.append(section(abroad))
    if preview.frequency_capped:
        blocks.append(section(
            f":no_entry: {plural(preview.frequency_capped, 'recipient was', 'recipients were')} "
            f"texted by other campaigns as often as the frequency cap allows "
            f"({escape(preview.frequency_cap or '')}): they will not be texted."
        ))  # fmt: skip
    if preview.opted_out_count:
        shown = ", ".join(preview.opted_out[:5])
        more = preview.opted_out_count - min(5, len(preview.opted_out))
        blocks.append(section(
            f":no_entry: {plural(preview.opted_out_count, 'recipient has', 'recipients have')} "
            f"opted out ({shown}{f' and {more:,} more' if more > 0 else ''}): they will not be "
            "texted."
        ))  # fmt: skip
    if preview.recently_texted is not None:
        blocks.append(section(recently_texted_line(preview.recently_texted)))
    blocks.append(section("*What they get* (the first messages, as each recipient sees it)"))
    if preview.gaps:
        blocks.append(section(f":warning: *{_gaps_sentence(preview)}* Check that the list has "
                              f"{'those columns' if len(preview.gaps) > 1 else 'that column'}, "
                              "filled in, before sending."))  # fmt: skip
    for sample in preview.samples:
        size = "MMS" if preview.stats.mms else plural(sample.segments, "text")
        gap = f" · :warning: {_names(sample.missing)} empty" if sample.missing else ""
        blocks.append(context(f"Row {sample.row} · {sample.phone} · {size}{gap}"))
        blocks.append(section(quoted(sample.text)))
    media = campaign.media_urls or []
    if media:
        blocks.append(section(_media_lines(media)))
    blocks.append(section(_encoding_and_cost(preview)))
    if not preview.stats.mms:
        blocks.append(context(_encoding_details(preview)))
    warnings = _warnings(preview)
    if warnings:
        blocks.append(section("\n".join(f":warning: {w}" for w in warnings)))
    blocks.append(_buttons(preview, editing=bool(metadata.extra.get("e"))))
    return {
        "type": "modal",
        "callback_id": PREVIEW,
        "title": plain("Check and confirm", 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata.dump(),
        "blocks": blocks,
    }


def _who_and_when(preview: Preview) -> str:
    campaign = preview.view.campaign
    when = f"Sends {local_time(preview.send_at)} (your time)" if preview.send_at else "Sends now"
    hours = (
        "" if preview.send_hours == ANY
        else f", between {preview.send_hours} in each recipient's own time zone"
    )  # fmt: skip
    return (
        f"*{preview.texted:,} will be texted* {senders(campaign)} · {when}\n"
        + skipped_line(preview)
        + _takes(preview, hours)
        + waiting_lines(preview.waiting)
    )


def _takes(preview: Preview, hours: str) -> str:
    """How long the sending takes; with some waiting for their sending hours, the sending
    alone (the wait is in the lines that follow, with when each group goes)."""
    rate = f"at {plural(preview.messages_per_second, 'message')} a second{hours}"
    if not preview.waiting:
        return f"Takes about {duration(preview.send_duration)} {rate}."
    return (f"Takes about {duration(preview.sending_time)} of sending {rate}; some wait for "
            "their hours first:")  # fmt: skip


def skipped_line(preview: Preview) -> str:
    """'1 opted out and 20 at their limit of 1 message in 24 hours are skipped.'"""
    parts = []
    if preview.opted_out_count:
        parts.append(f"{preview.opted_out_count:,} opted out")
    if preview.frequency_capped:
        parts.append(f"{preview.frequency_capped:,} at their limit of {preview.frequency_cap}")
    if not parts:
        return ""
    return f"{' and '.join(parts)} {'is' if preview.skipped == 1 else 'are'} skipped.\n"


def recently_texted_line(recent: RecentlyTexted) -> str:
    """':repeat: 31 of 40 were texted in the last 24 hours, most recently …'."""
    hours = int(recent.window.total_seconds() // 3600)
    return (
        f":repeat: *{recent.count:,} of {recent.of:,} were texted in the last {hours} hours*, "
        f"most recently {local_time(recent.last_at)} by ‘{escape(recent.last_campaign)}’. "
        "They will get this message too: make sure that is meant."
    )


def _names(placeholders: Sequence[str], shown: int = 3) -> str:
    names = ", ".join(f"`{{{{{escape(name)}}}}}`" for name in placeholders[:shown])
    more = len(placeholders) - shown
    return names + (f" and {more} more" if more > 0 else "")


def _gaps_sentence(preview: Preview) -> str:
    every = "The message shown has" if len(preview.samples) == 1 else "Every message shown has"
    return f"{every} {_names(preview.gaps)} left empty."


def waiting_lines(waiting: Sequence[WaitGroup], shown: int = 3) -> str:
    """':clock8: 312 wait for 08:00 in America/Los_Angeles (Tue 1 Dec at 16:00)'."""
    if not waiting:
        return ""
    lines = [
        f"\n:clock8: {plural(group.count, 'waits', 'wait')} for "
        f"{group.local} in {escape(group.zone)} ({local_time(group.release)})"
        for group in waiting[:shown]
    ]
    rest = sum(group.count for group in waiting[shown:])
    if rest:
        lines.append(f"\n:clock8: {rest:,} more wait for their hours later")
    return "".join(lines)


def _count_fields(preview: Preview) -> list[dict[str, Any]]:
    report = preview.import_report
    values = [
        ("Valid", preview.view.counts.total),
        ("Invalid", int(report.get("invalid_count", 0))),
        ("Duplicates dropped", int(report.get("duplicates", 0))),
        ("Opted out", preview.opted_out_count),
    ]
    return [{"type": "mrkdwn", "text": f"*{label}*\n{value:,}"} for label, value in values]


def _invalid_lines(preview: Preview) -> str | None:
    report = preview.import_report
    rows = report.get("invalid") or []
    count = int(report.get("invalid_count", len(rows)))
    if not count:
        return None
    lines = [f"*{plural(count, 'row')} left out:*"]
    for bad in rows[:INVALID_SHOWN]:
        value = escape(str(bad.get("value", ""))) or "(empty)"
        lines.append(f"• Row {bad.get('row')}: `{value}`: {escape(str(bad.get('reason', '')))}")
    if count > INVALID_SHOWN:
        lines.append(f"…and {count - min(INVALID_SHOWN, len(rows)):,} more")
    return "\n".join(lines)


def read_abroad_lines(report: dict[str, Any]) -> str | None:
    """Numbers written without a country code that were read as another country's: kept, but
    shown, since a number from the list meant for here would go abroad (and cost more)."""
    rows = report.get("read_abroad") or []
    count = int(report.get("read_abroad_count", len(rows)))
    if not count:
        return None
    lines = [f":mag: *Check {plural(count, 'number')} read as abroad:* written without a country "
             "code, not valid here, so read as another country's"]  # fmt: skip
    for row in rows[:INVALID_SHOWN]:
        value = escape(str(row.get("value", "")))
        lines.append(f"• Row {row.get('row')}: `{value}`: {escape(str(row.get('note', '')))}")
    if count > INVALID_SHOWN:
        lines.append(f"…and {count - min(INVALID_SHOWN, len(rows)):,} more")
    lines.append("If that is not right, correct the list: numbers from abroad are best written "
                 "with + and their country code.")  # fmt: skip
    return "\n".join(lines)


def _media_lines(urls: list[str]) -> str:
    lines = [f"*With {plural(len(urls), 'picture or file', 'pictures or files')}* (MMS):"]
    lines += [f"• {_shown_media(url)}" for url in urls]  # 10 x 200: well inside a section
    return "\n".join(lines)


def _shown_media(url: str) -> str:
    if upload_id(url):
        return f"an uploaded picture (`{url}`)"
    return escape(clip(url, 200))


def _encoding_and_cost(preview: Preview) -> str:
    return _encoding_and_price(preview) + _spend_lines(preview)


def _encoding_and_price(preview: Preview) -> str:
    stats = preview.stats
    if stats.mms:
        return (
            f"Picture messages (MMS): one message each whatever the text's length, "
            f"{preview.texted:,} in all.\n"
            f"*Estimated cost: {money(preview.cost_to_text, preview.currency)}*"
        )
    encoding = ""
    if stats.encoding != "GSM-7":
        chars = " ".join(f"`{escape(c)}`" for c in stats.ucs2_chars[:10])
        who = "every message" if stats.encoding == "UCS-2" else (
            f"{plural(stats.ucs2_messages, 'message')}")  # fmt: skip
        encoding = (f"Special characters ({chars}) make each text shorter for {who}: "
                    "replace them to send fewer texts.\n")  # fmt: skip
    each = (
        plural(stats.min_segments, "text")
        if stats.min_segments == stats.max_segments
        else f"{stats.min_segments} to {stats.max_segments} texts"
    )
    segments = max(0, stats.total_segments - preview.skipped_segments)
    return (
        f"{encoding}Each message goes as {each}, {segments:,} in all.\n"
        f"*Estimated cost: {money(preview.cost_to_text, preview.currency)}*"
    )


def _encoding_details(preview: Preview) -> str:
    """The same in the terms carriers and Twilio use, for whoever wants them (a context)."""
    stats = preview.stats
    if stats.encoding == "GSM-7":
        return "Plain SMS characters (GSM-7): 160 in one segment, 153 a segment when split."
    who = "every message" if stats.encoding == "UCS-2" else (
        plural(stats.ucs2_messages, "message"))  # fmt: skip
    return f"Unicode (UCS-2) for {who}: 70 characters in one segment, 67 a segment when split."


def _spend_lines(preview: Preview) -> str:
    """The month's spend against the budget; why Confirm would be refused, or wait for a
    second person's approval, if it would."""
    spend = preview.spend
    lines = []
    if preview.approval:
        lines.append(f"\n:hourglass: Needs a second person's approval: {escape(preview.approval)}")
    if spend is None:
        return "".join(lines)
    if spend.budget is not None:
        lines.append(
            f"\nThis month: {money(spend.month, spend.currency)} of the "
            f"{money(spend.budget, spend.currency)} budget spent or committed; this campaign "
            f"brings it to {money(spend.month + spend.cost, spend.currency)}."
        )
    refusal = preview.refused
    if refusal:
        lines.append(f"\n:no_entry: {escape(refusal)}")
    return "".join(lines)


# Content warnings the lines above already give, in Slack's words.
SHOWN_ABOVE = ("empty_placeholder", "unknown_placeholder")


def _warnings(preview: Preview) -> list[str]:
    stats = preview.stats
    found = [
        f"`{{{{{escape(name)}}}}}` is empty for {plural(count, 'recipient')}"
        for name, count in sorted(stats.missing.items())
        if count
    ]
    found += [
        f"`{{{{{escape(name)}}}}}` is not a column of the list: it will be empty for everyone"
        for name in stats.unknown_placeholders
    ]
    found += [escape(w) for w in stats.template_warnings]
    found += [escape(w.message) for w in preview.content if w.code not in SHOWN_ABOVE]
    if preview.outside_mms_area:
        found.append(
            f"{plural(preview.outside_mms_area, 'recipient is', 'recipients are')} outside the "
            "US and Canada, where pictures often do not arrive: their networks may refuse the "
            "message or show a link instead"
        )
    return found


def _plain_button(preview: Preview) -> list[dict[str, Any]]:
    """Offered when look-alike characters make the messages Unicode."""
    if not any(w.code == "unicode_lookalikes" for w in preview.content):
        return []
    return [{"type": "button", "action_id": PLAIN_CHARACTERS,
             "text": plain("Replace with plain characters"),
             "value": preview.view.campaign.id}]  # fmt: skip


def _confirm_button(preview: Preview, *, editing: bool) -> dict[str, Any]:
    """Confirm, with a dialog of who will be texted and the cost; "Send anyway" instead, with
    what is left empty in its dialog, when every message shown has a gap."""
    texted = preview.texted
    cost = money(preview.cost_to_text, preview.currency)
    verb = "Schedule" if preview.send_at else "Send"
    if editing:  # the scheduled campaign becomes this one
        verb = "Reschedule" if preview.send_at else "Send"
    skipped = f" ({preview.skipped:,} skipped)" if preview.skipped else ""
    text = (f"{plural(texted, 'recipient')} will be texted{skipped}, for an estimated {cost}. "
            "Sent messages cannot be recalled.")  # fmt: skip
    button: dict[str, Any] = {
        "type": "button",
        "action_id": CONFIRM,
        "style": "primary",
        "text": plain(f"Confirm: {verb.lower()} {texted:,}"),
        "value": preview.view.campaign.id,
    }
    title = f"{verb} {plural(texted, 'message')}?"
    if preview.gaps:
        names = ", ".join("{{" + name + "}}" for name in preview.gaps[:3])
        text = f"Every message shown has {names} left empty. {text}"
        title = f"{verb} with gaps?"
        button |= {"action_id": CONFIRM_ANYWAY, "style": "danger",
                   "text": plain(f"{verb} anyway: {texted:,}")}  # fmt: skip
    button["confirm"] = {
        "title": plain(title, 100),
        "text": {"type": "plain_text", "text": clip(text, 300)},
        "confirm": plain(f"Yes, {verb.lower()}{' anyway' if preview.gaps else ''}", 30),
        "deny": plain("Not yet", 30),
    }
    return button


def _buttons(preview: Preview, *, editing: bool) -> dict[str, Any]:
    draft_id = preview.view.campaign.id
    return {
        "type": "actions",
        "block_id": "preview_actions",
        "elements": [
            _confirm_button(preview, editing=editing),
            {
                "type": "button",
                "action_id": BACK_TO_EDIT,
                "text": plain("Back to edit"),
                "value": draft_id,
            },
            {
                "type": "button",
                "action_id": SEND_TEST,
                "text": plain("Send a test to me"),
                "value": draft_id,
            },
            *_plain_button(preview),
        ],
    }
