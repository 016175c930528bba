"""What every service call needs: the database, the settings and a clock (tests move time)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from campaigns.db import Database
from campaigns.models import utcnow
from campaigns.service.in_effect import StopNews
from campaigns.settings import Settings


@dataclass(frozen=True, slots=True)
class Context:
    db: Database
    settings: Settings
    clock: Callable[[], datetime] = field(default=utcnow)
    # How an opt-out reaches the send loops before it is acknowledged (None: no loop to tell,
    # as in tests of the domain alone; the database screening still stops the number).
    stops: StopNews | None = None

    def now(self) -> datetime:
        return self.clock()
