"""The action ids of every button Textcast puts in a message; `bot.slack.actions` listens for them.

Each button's `value` is the id of the campaign it acts on.
"""

from __future__ import annotations

RESUME_CAMPAIGN = "campaign_resume"
CANCEL_CAMPAIGN = "campaign_cancel"
SEND_NOW = "campaign_send_now"

# On the progress message.
VIEW_REPORT = "campaign_report"
EXPORT_CSV = "campaign_export"
PROGRESS_CANCEL = "campaign_progress_cancel"
EDIT_CAMPAIGN = "campaign_edit"

# On an opt-out notice in a campaign's thread; its value is the inbound message's id.
CANCEL_WAITING = "optout_cancel_waiting"

# On a reply shown in a thread; its value is the inbound message's id.
REPLY_TO_TEXT = "reply_to_text"

# On the digest of texts in a campaign's thread (or of a day's texts that answer no campaign).
SEE_ALL_TEXTS = "texts_see_all"  # its value is the digest's key
OPT_OUT_NUMBER = "text_opt_out"  # its value is the inbound message's id
