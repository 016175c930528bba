"""The audit log: who did what to which campaign, written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.models import AuditEntry

# Actors are plain strings so every entry point can name itself: "slack:U0123", "api:key_ab12",
# "cli", "worker", "twilio".


def record(
    session: AsyncSession, actor: str, action: str, campaign_id: str | None = None, **details: Any
) -> None:
    session.add(AuditEntry(actor=actor, action=action, campaign_id=campaign_id, details=details))
