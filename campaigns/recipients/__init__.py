"""Reading recipients from pasted text, CSV files and API lists.

`parse_recipients` reads an uploaded file or pasted text and `check_recipient_list` the HTTP API's
list; both return an `ImportReport`. `normalise_phone` reads one number.
"""

from campaigns.recipients.parse import check_recipient_list, parse_recipients
from campaigns.recipients.phones import PhoneResult, normalise_phone
from campaigns.recipients.report import ImportReport, InvalidRow, Recipient

__all__ = [
    "ImportReport",
    "InvalidRow",
    "PhoneResult",
    "Recipient",
    "check_recipient_list",
    "normalise_phone",
    "parse_recipients",
]
