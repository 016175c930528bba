"""What a campaign's messages will look like and cost, rendered for every recipient."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from campaigns.limits import MAX_BODY_CHARS
from campaigns.segments import SegmentInfo, count_segments
from campaigns.templates import Template


@dataclass(frozen=True, slots=True)
class MessageStats:
    """Totals over every recipient's own rendered message."""

    messages: int = 0
    total_segments: int = 0
    min_segments: int = 0
    max_segments: int = 0
    ucs2_messages: int = 0  # messages sent as UCS-2 (70 characters a part instead of 160)
    ucs2_chars: tuple[str, ...] = ()  # the characters that forced it
    longest: int = 0  # characters in the longest message
    too_long: int = 0  # messages over Twilio's 1,600 characters
    missing: dict[str, int] = field(default_factory=dict)  # placeholder -> recipients without
    unknown_placeholders: tuple[str, ...] = ()  # placeholders no recipient has a column for
    template_warnings: tuple[str, ...] = ()
    # Pictures go with every message (MMS): one message each whatever the text's length, priced
    # per message, so the segment counts above count messages instead.
    mms: bool = False

    @property
    def encoding(self) -> str:
        if self.ucs2_messages == 0:
            return "GSM-7"
        return "UCS-2" if self.ucs2_messages == self.messages else "mixed"

    def cost(self, price_per_segment: Decimal, price_per_mms: Decimal) -> Decimal:
        if self.mms:
            return self.messages * price_per_mms
        return self.total_segments * price_per_segment

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ucs2_chars"] = list(self.ucs2_chars)
        data["unknown_placeholders"] = list(self.unknown_placeholders)
        data["template_warnings"] = list(self.template_warnings)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MessageStats:
        if not data:
            return cls()
        return cls(
            **{
                **data,
                "ucs2_chars": tuple(data["ucs2_chars"]),
                "unknown_placeholders": tuple(data["unknown_placeholders"]),
                "template_warnings": tuple(data["template_warnings"]),
                "missing": dict(data["missing"]),
            }
        )


@dataclass(frozen=True, slots=True)
class OverLong:
    """The first message Twilio would refuse for its length."""

    index: int  # its recipient's place in the list
    length: int  # characters
    every: bool = False  # the message is too long whatever the values: every recipient's is


def first_over_long(template: Template, variables: Iterable[Mapping[str, str]]) -> OverLong | None:
    """The first recipient whose message would be over Twilio's 1,600 characters, found from
    the lengths of the values, without making any message: a template of 2,000 placeholders with
    long values makes messages of megabytes, and 20,000 of them took minutes of CPU to refuse."""
    if template.shortest > MAX_BODY_CHARS:
        return OverLong(0, template.shortest, every=True)
    for index, values in enumerate(variables):
        if (length := template.length(values)) > MAX_BODY_CHARS:
            return OverLong(index, length)
    return None


def analyse_messages(
    template: Template,
    variables: Sequence[Mapping[str, str]],
    variable_names: Iterable[str],
    *,
    mms: bool = False,
) -> tuple[list[int], MessageStats]:
    """Render the template for each recipient; return each one's segments and the totals.

    With `mms` every message is one message (Twilio does not split an MMS), so each counts 1.
    """
    segments: list[int] = []
    missing: Counter[str] = Counter()
    ucs2_chars: dict[str, None] = {}
    ucs2_messages = longest = too_long = 0
    fixed: SegmentInfo | None = None if template.placeholders else count_segments(template.text)
    for values in variables:
        if fixed is not None:  # no placeholders: every message is the same
            info, length = fixed, len(template.text)
        else:
            rendered = template.render(values)
            missing.update(rendered.missing)
            info, length = count_segments(rendered.text), len(rendered.text)
        segments.append(1 if mms else info.segments)
        if info.ucs2_chars:
            ucs2_messages += 1
            ucs2_chars.update(dict.fromkeys(info.ucs2_chars))
        longest = max(longest, length)
        too_long += length > MAX_BODY_CHARS
    stats = MessageStats(
        messages=len(segments),
        total_segments=sum(segments),
        min_segments=min(segments, default=0),
        max_segments=max(segments, default=0),
        ucs2_messages=ucs2_messages,
        ucs2_chars=tuple(ucs2_chars),
        longest=longest,
        too_long=too_long,
        missing=dict(missing),
        unknown_placeholders=template.unknown_placeholders(variable_names),
        template_warnings=template.warnings,
        mms=mms,
    )
    return segments, stats
