"""The service layer: every change to campaign state goes through these functions.

Slack, the HTTP API and the worker call them with a `Context`; each call is one transaction, so a
failed request leaves nothing half-written.
"""

from campaigns.service.apikeys import (
    NewApiKey,
    authenticate,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from campaigns.service.change import NOW, CampaignChanges, cancel_campaign, edit_campaign
from campaigns.service.common import CampaignView
from campaigns.service.context import Context
from campaigns.service.create import NewCampaign, create_campaign, launch_campaign
from campaigns.service.optouts import (
    keyword_of,
    opted_out_among,
    record_opt_in,
    record_opt_out,
)
from campaigns.service.preview import Preview, SampleMessage, preview_campaign
from campaigns.service.queries import (
    CampaignDetail,
    CampaignPage,
    audit_entries,
    get_campaign,
    list_campaigns,
)
from campaigns.service.report import CampaignReport, FailureGroup, campaign_report
from campaigns.service.senders import sync_sender_numbers
from campaigns.service.status_updates import (
    StatusUpdate,
    apply_status_update,
    apply_status_updates,
)

__all__ = [
    "NOW",
    "CampaignChanges",
    "CampaignDetail",
    "CampaignPage",
    "CampaignReport",
    "CampaignView",
    "Context",
    "FailureGroup",
    "NewApiKey",
    "NewCampaign",
    "Preview",
    "SampleMessage",
    "StatusUpdate",
    "apply_status_update",
    "apply_status_updates",
    "audit_entries",
    "authenticate",
    "campaign_report",
    "cancel_campaign",
    "create_api_key",
    "create_campaign",
    "edit_campaign",
    "get_campaign",
    "keyword_of",
    "launch_campaign",
    "list_api_keys",
    "list_campaigns",
    "opted_out_among",
    "preview_campaign",
    "record_opt_in",
    "record_opt_out",
    "revoke_api_key",
    "sync_sender_numbers",
]
