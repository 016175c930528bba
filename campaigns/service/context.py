"""What every service call needs: the database, the settings and a clock (tests move time)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from campaigns.db import Database
from campaigns.models import utcnow
from campaigns.settings import Settings


@dataclass(frozen=True, slots=True)
class Context:
    db: Database
    settings: Settings
    clock: Callable[[], datetime] = field(default=utcnow)

    def now(self) -> datetime:
        return self.clock()
