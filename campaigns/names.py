"""A person's name from their recipient variables: what Textcast shows beside a masked number."""

from __future__ import annotations

from collections.abc import Mapping

from campaigns.templates import normalise_name

NAME_KEYS = ("name", "full_name", "contact_name")


def display_name(variables: Mapping[str, str] | None, limit: int = 200) -> str | None:
    """A person's name from their columns ("Name", "Full name", or first and last), if any."""
    by_key = {normalise_name(k): v.strip() for k, v in (variables or {}).items()
              if isinstance(v, str) and v.strip()}  # fmt: skip
    for key in NAME_KEYS:
        if by_key.get(key):
            return by_key[key][:limit]
    parts = [by_key.get(k, "") for k in ("first_name", "last_name")]
    name = " ".join(p for p in parts if p)
    return name[:limit] or None
