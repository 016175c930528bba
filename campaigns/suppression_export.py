"""The suppression list as CSV: every number opted out now, since when, and how.

Neutralised for spreadsheets as the campaign export is (campaigns/export.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from campaigns.export import neutralised
from campaigns.service.optouts import Suppressed

HEADER = ["phone", "opted_out_since_utc", "keyword", "source", "by", "campaign_id"]


def suppression_csv(rows: Sequence[Suppressed]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        cells = [row.phone, row.since.strftime("%Y-%m-%d %H:%M:%S"), row.keyword, row.source,
                 row.actor, row.campaign_id]  # fmt: skip
        writer.writerow([neutralised(c) for c in cells])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
