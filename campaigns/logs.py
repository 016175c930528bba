"""Logging for the processes: one format, and phone numbers masked in every line.

Code masks the numbers it logs (`privacy.mask`), but a library's message or an exception's text
can carry one too (a Twilio error quoting the To number, a database error quoting a row). The
formatter masks whatever looks like a phone number in the finished line, tracebacks included.
"""

from __future__ import annotations

import logging
import re

from campaigns.privacy import mask

# "+" and 8 to 15 digits, optionally with the spaces or dashes people write them with.
PHONE = re.compile(r"\+\d(?:[ \-]?\d){7,14}")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return PHONE.sub(lambda found: mask(found.group()), super().format(record))


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(MaskingFormatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its schema check chatters at INFO
    # aiohttp's own access log is off (`access_log=None`): bot/access_log.py writes one that
    # leaves out query strings and names who called.
