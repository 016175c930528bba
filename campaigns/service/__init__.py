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
from campaigns.service.change import (
    NOW,
    CampaignChanges,
    cancel_campaign,
    edit_campaign,
    edit_confirmed_campaign,
    edit_own_draft,
)
from campaigns.service.common import CampaignView
from campaigns.service.context import Context
from campaigns.service.create import NewCampaign, create_campaign, launch_campaign
from campaigns.service.library import (
    ContactImport,
    GroupContacts,
    GroupSummary,
    SavedTemplate,
    delete_contact_group,
    delete_template,
    get_contact_group,
    get_template,
    group_contacts,
    group_recipients,
    import_contacts,
    list_contact_groups,
    list_templates,
    save_template,
)
from campaigns.service.optouts import (
    keyword_of,
    opt_out_history,
    opted_out_among,
    recent_opt_outs,
    record_opt_in,
    record_opt_out,
)
from campaigns.service.preview import (
    Preview,
    SampleMessage,
    gaps_in_every_sample,
    preview_campaign,
    preview_new_campaign,
)
from campaigns.service.queries import (
    CampaignDetail,
    CampaignPage,
    StatusPage,
    audit_entries,
    audit_page,
    campaign_by_id,
    get_campaign,
    list_campaigns,
    recipient_pages,
    recipients_by_status,
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
    "ContactImport",
    "Context",
    "FailureGroup",
    "GroupContacts",
    "GroupSummary",
    "NewApiKey",
    "NewCampaign",
    "Preview",
    "SampleMessage",
    "SavedTemplate",
    "StatusPage",
    "StatusUpdate",
    "apply_status_update",
    "apply_status_updates",
    "audit_entries",
    "audit_page",
    "authenticate",
    "campaign_by_id",
    "campaign_report",
    "cancel_campaign",
    "create_api_key",
    "create_campaign",
    "delete_contact_group",
    "delete_template",
    "edit_campaign",
    "edit_confirmed_campaign",
    "edit_own_draft",
    "gaps_in_every_sample",
    "get_campaign",
    "get_contact_group",
    "get_template",
    "group_contacts",
    "group_recipients",
    "import_contacts",
    "keyword_of",
    "launch_campaign",
    "list_api_keys",
    "list_campaigns",
    "list_contact_groups",
    "list_templates",
    "opt_out_history",
    "opted_out_among",
    "preview_campaign",
    "preview_new_campaign",
    "recent_opt_outs",
    "recipient_pages",
    "recipients_by_status",
    "record_opt_in",
    "record_opt_out",
    "revoke_api_key",
    "save_template",
    "sync_sender_numbers",
]
