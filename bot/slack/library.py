"""`/sms templates` and `/sms contacts`: saved templates and contact groups, and the buttons and
modals that change them.

    /sms templates -> the list (ephemeral) -> Save a template -> modal -> saved
                                           -> Delete (Slack asks first) -> deleted
    /sms contacts  -> the list (ephemeral) -> Import contacts -> modal -> the CSV downloaded with
                      the bot token, read off the event loop, stored -> the counts
                                           -> Delete (Slack asks first) -> the group goes,
                                              its contacts stay

Listing is open to everyone. Saving, importing and deleting need `require_permission`: checked
when a modal opens, so nobody types a template for nothing, and again when it is submitted, which
is the check that counts (the modal may have sat open while someone lost the right).

A submission is answered inline when the work is quick (errors by block, or the outcome), else
with a "working" view at once that the outcome replaces by `views.update` with its hash, as
`bot.slack.compose` does. The list a modal was opened from is then refreshed through that click's
response_url, which the modal carries in its private_metadata (a URL, not data).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.blocks.compose import Metadata, notice_view
from bot.blocks.library import (
    CONSENT_SOURCE,
    CONTACTS_FILE,
    CONTACTS_IMPORT,
    CONTACTS_PASTE,
    GROUP_DELETE,
    GROUP_NAME,
    IMPORT_FORM,
    IMPORT_TITLE,
    TEMPLATE_BODY,
    TEMPLATE_DELETE,
    TEMPLATE_FORM,
    TEMPLATE_NAME,
    TEMPLATE_NEW,
    TEMPLATE_TITLE,
    contacts_message,
    import_form_view,
    imported_text,
    saved_text,
    template_form_view,
    templates_message,
    working_view,
)
from bot.blocks.text import escape, plural
from bot.runtime import Runtime
from bot.slack.background import spawn
from bot.slack.downloads import download
from bot.slack.permissions import NotAllowed, require_permission
from bot.slack.slow_answers import (
    INLINE_SECONDS,
    Outcome,
    answer_in_time,
    arrived,
    small_upload,
)
from campaigns.errors import TextcastError
from campaigns.offload import off_loop
from campaigns.recipients import parse_recipients
from campaigns.service import (
    Context,
    delete_contact_group,
    delete_template,
    import_contacts,
    list_contact_groups,
    list_templates,
    save_template,
)

log = logging.getLogger(__name__)

LIST_URL = "r"  # private_metadata key: the response_url of the list the modal was opened from
SOMETHING_WENT_WRONG = (
    "Something went wrong on Textcast's side and this may not have been done: check "
    "`/sms templates` or `/sms contacts`, then try again. The web process's log says why."
)
FAILED = notice_view("Something went wrong", SOMETHING_WENT_WRONG)


def register(app: AsyncApp, runtime: Runtime) -> None:
    """Every button and modal of the two lists."""
    app.action(TEMPLATE_NEW)(_opens(runtime, template_form_view))
    app.action(CONTACTS_IMPORT)(_opens(runtime, import_form_view))
    app.action(TEMPLATE_DELETE)(_deletes(runtime, _delete_template, _templates))
    app.action(GROUP_DELETE)(_deletes(runtime, _delete_group, _groups))
    app.view(TEMPLATE_FORM)(_template_submitted(runtime))
    app.view(IMPORT_FORM)(_import_submitted(runtime))


# -- the subcommands


async def _templates(ctx: Context, notice: str | None = None) -> dict[str, Any]:
    return templates_message(await list_templates(ctx), notice)


async def _groups(ctx: Context, notice: str | None = None) -> dict[str, Any]:
    return contacts_message(await list_contact_groups(ctx), notice)


async def templates_command(
    runtime: Runtime, _client: AsyncWebClient, _body: dict[str, Any], _rest: str
) -> dict[str, Any]:
    return await _templates(runtime.ctx)


async def contacts_command(
    runtime: Runtime, _client: AsyncWebClient, _body: dict[str, Any], _rest: str
) -> dict[str, Any]:
    return await _groups(runtime.ctx)


LIBRARY_SUBCOMMANDS = {
    "templates": templates_command,
    "contacts": contacts_command,
}


# -- buttons in the lists


def _opens(runtime: Runtime, build: Callable[[Metadata], dict[str, Any]]):  # type: ignore[no-untyped-def]
    """A button that opens a modal, for people who may use it."""

    async def listener(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            await require_permission(runtime, client, body["user"]["id"])
        except NotAllowed as error:
            await _tell(respond, error.message)
            return
        url = body.get("response_url")
        metadata = Metadata(extra={LIST_URL: url} if isinstance(url, str) else {})
        try:
            await client.views_open(trigger_id=body["trigger_id"], view=build(metadata))
        except SlackApiError as error:  # the trigger ran out (over 3 s), most likely
            log.info("a library modal was not opened: %s", error.response.get("error"))

    return listener


# What a Delete button does, given the id it carries and who clicked; returns the line to show.
Remove = Callable[[Context, str, str], Awaitable[str]]
Listing = Callable[[Context, str | None], Awaitable[dict[str, Any]]]


async def _delete_template(ctx: Context, template_id: str, actor: str) -> str:
    template = await delete_template(ctx, template_id, actor)
    return f"Deleted the template *{escape(template.name)}*."


async def _delete_group(ctx: Context, group_id: str, actor: str) -> str:
    group = await delete_contact_group(ctx, group_id, actor)
    return (
        f"Deleted the group *{escape(group.name)}*; its {plural(group.members, 'contact')} "
        "stay, with their consent records."
    )


def _deletes(runtime: Runtime, remove: Remove, listing: Listing):  # type: ignore[no-untyped-def]
    """A Delete button (Slack has asked "are you sure?" already): the list is shown again."""

    async def listener(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        user_id = body["user"]["id"]
        value = (body.get("actions") or [{}])[0].get("value")
        try:
            await require_permission(runtime, client, user_id)
            notice = await remove(runtime.ctx, str(value or ""), f"slack:{user_id}")
        except NotAllowed as error:
            await _tell(respond, error.message)
            return
        except TextcastError as error:  # deleted meanwhile: the list shows how things are now
            notice = f":warning: {escape(error.message)}"
        except Exception:
            log.exception("a library Delete button failed")
            await _tell(respond, SOMETHING_WENT_WRONG)
            return
        answer = await respond(replace_original=True, **await listing(runtime.ctx, notice))
        if answer.status_code != 200:
            log.warning("Slack refused to show the list again (%s)", answer.status_code)

    return listener


async def _tell(respond: AsyncRespond, text: str) -> None:
    """An ephemeral answer to the person who clicked; the list stays as it was."""
    answer = await respond(text=text, response_type="ephemeral", replace_original=False)
    if answer.status_code != 200:
        log.warning("Slack refused an explanation (%s): %s", answer.status_code, text)


# -- answering a submission


async def _refresh_list(url: str | None, ctx: Context, listing: Listing) -> None:
    """Show the list the modal was opened from as it is now (best effort: it is only a view)."""
    if not url:
        return
    shown = await listing(ctx, None)
    try:
        answer = await AsyncWebhookClient(url).send(replace_original=True, **shown)
    except Exception as error:  # the URL expired or Slack is unreachable: the modal said it all
        log.info("the list was not refreshed: %s", error)
        return
    if answer.status_code != 200:
        log.info("the list was not refreshed (%s)", answer.status_code)


def _entry(values: dict[str, Any], block: str) -> dict[str, Any]:
    return values.get(block, {}).get(block, {})


def _text(values: dict[str, Any], block: str) -> str:
    return str(_entry(values, block).get("value") or "")


# -- saving a template


def _template_submitted(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def listener(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        view, user_id = body["view"], body["user"]["id"]
        values = view["state"]["values"]
        name, message = _text(values, TEMPLATE_NAME), _text(values, TEMPLATE_BODY)
        try:
            await require_permission(runtime, client, user_id)
        except NotAllowed as refused:
            await ack(response_action="errors", errors={TEMPLATE_NAME: refused.message})
            return
        metadata = Metadata.load(view.get("private_metadata"))
        work = spawn(_save(runtime, user_id, name, message, metadata), f"template for {user_id}")
        waiting = working_view(TEMPLATE_TITLE, "Saving the template…", metadata)
        await answer_in_time(ack, client, view["id"], work, budget=INLINE_SECONDS,
                             since=arrived(context), waiting=waiting, failed=FAILED)  # fmt: skip

    return listener


TEMPLATE_FIELDS = {"name": TEMPLATE_NAME, "body": TEMPLATE_BODY}


async def _save(
    runtime: Runtime, user_id: str, name: str, body: str, metadata: Metadata
) -> Outcome:
    try:
        saved = await save_template(runtime.ctx, name, body, f"slack:{user_id}")
    except TextcastError as error:
        block = TEMPLATE_FIELDS.get(error.field or "", TEMPLATE_BODY)
        form = template_form_view(metadata, name=name, body=body, error=error.message)
        return Outcome(form, {block: error.message})
    spawn(_refresh_list(metadata.extra.get(LIST_URL), runtime.ctx, _templates),
          "refresh the template list")  # fmt: skip
    return Outcome(notice_view("Template saved", saved_text(saved)))


# -- importing contacts


@dataclass(frozen=True, slots=True)
class ImportForm:
    group: str
    paste: str
    files: list[dict[str, Any]]
    consent: str

    @classmethod
    def read(cls, values: dict[str, Any]) -> ImportForm:
        return cls(
            group=_text(values, GROUP_NAME).strip(),
            paste=_text(values, CONTACTS_PASTE).strip(),
            files=list(_entry(values, CONTACTS_FILE).get("files") or []),
            consent=_text(values, CONSENT_SOURCE).strip(),
        )

    def again(self, metadata: Metadata, error: str) -> dict[str, Any]:
        """The form as it was filled in, with the problem at its top."""
        again = " Upload the file again: Slack sends it only once." if self.files else ""
        return import_form_view(metadata, group=self.group, paste=self.paste,
                                consent=self.consent, error=error + again)  # fmt: skip

    @property
    def list_block(self) -> str:
        return CONTACTS_FILE if self.files else CONTACTS_PASTE


def cheap_import_errors(form: ImportForm) -> dict[str, str]:
    """What can be said at once, before a file is downloaded and read; the service checks the
    rest."""
    errors: dict[str, str] = {}
    if not form.group:
        errors[GROUP_NAME] = "Name the group, e.g. “Newsletter sign-ups”."
    if not form.paste and not form.files:
        errors[CONTACTS_PASTE] = "Paste the numbers, or upload a CSV file above."
    if form.paste and form.files:
        errors[CONTACTS_PASTE] = "Use one: the file or the pasted numbers, not both."
    if not form.consent:
        errors[CONSENT_SOURCE] = "Say where these people agreed to be texted."
    return errors


def _import_submitted(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def listener(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        view, user_id = body["view"], body["user"]["id"]
        form = ImportForm.read(view["state"]["values"])
        errors = cheap_import_errors(form)
        if not errors:
            try:
                await require_permission(runtime, client, user_id)
            except NotAllowed as refused:
                errors[GROUP_NAME] = refused.message
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        metadata = Metadata.load(view.get("private_metadata"))
        work = spawn(_import(runtime, client, user_id, form, metadata), f"import for {user_id}")
        what = "Importing the file…" if form.files else "Importing the numbers…"
        budget = INLINE_SECONDS if small_upload(form.files) else 0.0
        await answer_in_time(ack, client, view["id"], work, budget=budget, since=arrived(context),
                             waiting=working_view(IMPORT_TITLE, what, metadata), failed=FAILED)  # fmt: skip

    return listener


IMPORT_FIELDS = {"group_name": GROUP_NAME, "consent_source": CONSENT_SOURCE}


async def _import(
    runtime: Runtime, client: AsyncWebClient, user_id: str, form: ImportForm, metadata: Metadata
) -> Outcome:
    try:
        data: bytes | str = await download(client, form.files[0]) if form.files else form.paste
        report = await off_loop(
            parse_recipients, data, runtime.settings.DEFAULT_REGION, runtime.settings.destinations
        )
        result = await import_contacts(
            runtime.ctx, form.group, report, form.consent, f"slack:{user_id}"
        )
    except TextcastError as error:
        block = IMPORT_FIELDS.get(error.field or "", form.list_block)
        return Outcome(form.again(metadata, error.message), {block: error.message})
    spawn(_refresh_list(metadata.extra.get(LIST_URL), runtime.ctx, _groups),
          "refresh the contact groups")  # fmt: skip
    return Outcome(notice_view("Contacts imported", imported_text(result, report)))
