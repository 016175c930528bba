"""/sms templates and /sms contacts through the real request path: signed Slack requests over
HTTP into the running web app, the Slack stand-in as Slack (messages, views, files), the real
database and Redis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import select

from bot.blocks.compose import Metadata
from bot.blocks.library import (
    CONSENT_SOURCE,
    CONTACTS_FILE,
    CONTACTS_IMPORT,
    CONTACTS_PASTE,
    GROUP_DELETE,
    GROUP_NAME,
    IMPORT_FORM,
    TEMPLATE_BODY,
    TEMPLATE_DELETE,
    TEMPLATE_FORM,
    TEMPLATE_NAME,
    TEMPLATE_NEW,
    WORKING,
    contacts_message,
    import_form_view,
    template_form_view,
    templates_message,
    working_view,
)
from bot.slack.background import drain
from bot.slack.permissions import not_allowed
from campaigns.models import Contact, MessageTemplate
from campaigns.recipients import check_recipient_list
from campaigns.service import (
    GroupSummary,
    import_contacts,
    list_contact_groups,
    list_templates,
    save_template,
)
from campaigns.settings import Settings
from sandbox.slack import ALICE, BOB, CAMPAIGNS, SIGNING_SECRET, SlackSandbox, requests
from sandbox.slack import blocks as block_kit
from sandbox.slack.history import Message
from sandbox.slack.views import apply_submission_answer
from tests.bot.conftest import Api, slack_settings
from tests.bot.test_slack_compose import showing, sms, submit, top_view, until
from tests.conftest import Clock
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401

CSV = "phone,first_name\n+447700900001,Sarah\n+447700900002,James\nnot a number,Bad\n"


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    return slack_settings(slack.url, request, DEFAULT_REGION="GB")


async def listed(slack: SlackSandbox, count: int, user: str = ALICE) -> Message:
    """The newest of the person's ephemeral messages, once there are `count` of them."""
    shown = await until(lambda: (found := slack.ephemeral(CAMPAIGNS, user)) and
                        len(found) >= count and found)  # fmt: skip
    return shown[-1]


async def press(
    web: Api, slack: SlackSandbox, message: Message, action_id: str, user: str = ALICE
) -> None:
    request = requests.block_actions(
        SIGNING_SECRET, action_id, message=message, user_id=user, sandbox_url=slack.url
    )
    response = await web.client.post("/slack/events", data=request.body, headers=request.headers)
    assert response.status == 200, await response.text()


def text_of(message: Message) -> str:
    return "\n".join(block_kit.render(message.blocks))


async def submit_as(
    web: Api, slack: SlackSandbox, view: dict[str, Any], values: dict[Any, Any], user: str
) -> dict[str, str]:
    request = requests.view_submission(SIGNING_SECRET, view, values, user_id=user,
                                       sandbox_url=slack.url)  # fmt: skip
    response = await web.client.post("/slack/events", data=request.body, headers=request.headers)
    assert response.status == 200, await response.text()
    body = await response.text()
    return apply_submission_answer(slack, view["id"], await response.json() if body else None)


# -- templates


async def test_a_template_is_saved_through_the_modal_listed_and_deleted(
    web: Api, slack: SlackSandbox
) -> None:
    await sms(web, slack, "templates")
    empty = await listed(slack, 1)
    assert "No saved templates yet" in text_of(empty)

    await press(web, slack, empty, TEMPLATE_NEW)
    form = await until(showing(slack, TEMPLATE_FORM))
    body = "Hi {{first_name}}, 20% off this month\nReply STOP to opt out"
    errors = await submit(web, slack, form, {TEMPLATE_NAME: "Monthly offer",
                                                 TEMPLATE_BODY: body})  # fmt: skip
    assert errors == {}
    assert "Saved *Monthly offer*" in str(top_view(slack)["blocks"])
    # The list the modal was opened from shows it now.
    await until(lambda: "Monthly offer" in text_of(slack.ephemeral(CAMPAIGNS, ALICE)[0]))
    [template] = await list_templates(web.runtime.ctx)
    assert (template.body, template.created_by) == (body, f"slack:{ALICE}")

    await sms(web, slack, "templates")
    shown = await listed(slack, 2)
    lines = text_of(shown)
    assert "Monthly offer" in lines and "Hi {{first_name}}, 20% off this month" in lines
    assert "Reply STOP" not in lines  # the first line only
    [delete] = [b["accessory"] for b in shown.blocks if b.get("accessory")]
    assert delete["action_id"] == TEMPLATE_DELETE and delete["confirm"]["style"] == "danger"

    await press(web, slack, shown, TEMPLATE_DELETE)
    await until(lambda: "Deleted the template *Monthly offer*" in str(shown.blocks))
    assert "No saved templates yet" in text_of(shown)
    assert await list_templates(web.runtime.ctx) == []


@pytest.mark.parametrize(
    ("values", "block", "words"),
    [
        ({TEMPLATE_NAME: "Blank", TEMPLATE_BODY: "   "}, TEMPLATE_BODY, "Write the template"),
        ({TEMPLATE_NAME: "   ", TEMPLATE_BODY: "Hi"}, TEMPLATE_NAME, "Name the template"),
        ({TEMPLATE_NAME: "Long", TEMPLATE_BODY: "x" * 1700}, TEMPLATE_BODY, "Twilio refuses"),
    ],
)
async def test_a_bad_template_is_refused_inline(
    web: Api, slack: SlackSandbox, values: dict[str, str], block: str, words: str
) -> None:
    await sms(web, slack, "templates")
    await press(web, slack, await listed(slack, 1), TEMPLATE_NEW)
    form = await until(showing(slack, TEMPLATE_FORM))
    errors = await submit(web, slack, form, values)
    assert set(errors) == {block} and words in errors[block]
    assert top_view(slack)["id"] == form["id"]
    assert await list_templates(web.runtime.ctx) == []


async def test_saving_an_existing_name_says_it_replaced_the_message(
    web: Api, slack: SlackSandbox
) -> None:
    await save_template(web.runtime.ctx, "Offer", "Old", "slack:U0BOB")
    await sms(web, slack, "templates")
    await press(web, slack, await listed(slack, 1), TEMPLATE_NEW)
    form = await until(showing(slack, TEMPLATE_FORM))
    await submit(web, slack, form, {TEMPLATE_NAME: "Offer", TEMPLATE_BODY: "New"})
    assert "Replaced the message of *Offer*" in str(top_view(slack)["blocks"])
    [template] = await list_templates(web.runtime.ctx)
    assert template.body == "New"


# -- contacts


async def test_contacts_are_imported_from_a_csv_and_a_known_one_keeps_its_consent(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    await sms(web, slack, "contacts")
    empty = await listed(slack, 1)
    assert "No contact groups yet" in text_of(empty)

    await press(web, slack, empty, CONTACTS_IMPORT)
    form = await until(showing(slack, IMPORT_FORM))
    upload = slack.add_file("sign-ups.csv", CSV)
    errors = await submit(web, slack, form, {
        GROUP_NAME: "Newsletter", CONTACTS_FILE: [slack.file_object(upload.id)],
        CONSENT_SOURCE: "sign-up form at reception",
    })  # fmt: skip
    assert errors == {}
    done = str(top_view(slack)["blocks"])
    assert "the new group *Newsletter*, which now has 2 contacts" in done
    assert "2 new contacts" in done and "1 row left out (row 4" in done
    await until(lambda: "2 contacts" in text_of(slack.ephemeral(CAMPAIGNS, ALICE)[0]))
    first_import = clock.now

    clock.advance(days=2)
    await sms(web, slack, "contacts")
    shown = await listed(slack, 2)
    assert "Newsletter" in text_of(shown) and "2 contacts" in text_of(shown)
    await press(web, slack, shown, CONTACTS_IMPORT)
    form = await until(showing(slack, IMPORT_FORM))
    errors = await submit(web, slack, form, {
        GROUP_NAME: "Leeds", CONTACTS_PASTE: "+447700900002, +447700900003",
        CONSENT_SOURCE: "paper form in the Leeds shop",
    })  # fmt: skip
    assert errors == {}
    done = str(top_view(slack)["blocks"])
    assert "1 new contact," in done and "1 contact already known" in done
    await drain()

    async with web.runtime.db.read() as session:
        stored = {c.phone: c for c in (await session.execute(select(Contact))).scalars()}
    james, newcomer = stored["+447700900002"], stored["+447700900003"]
    assert (james.consent_source, james.consent_at) == (
        "sign-up form at reception", first_import,
    )  # fmt: skip
    assert james.variables == {"first_name": "James"}
    assert (newcomer.consent_source, newcomer.consent_at) == (
        "paper form in the Leeds shop", clock.now,
    )  # fmt: skip
    groups = {g.name: g.members for g in await list_contact_groups(web.runtime.ctx)}
    assert groups == {"Leeds": 2, "Newsletter": 2}

    # Deleting a group keeps its contacts.
    await sms(web, slack, "contacts")
    shown = await listed(slack, 3)
    await press(web, slack, shown, GROUP_DELETE)  # the first, by name: Leeds
    await until(lambda: "Deleted the group *Leeds*" in str(shown.blocks))
    assert [g.name for g in await list_contact_groups(web.runtime.ctx)] == ["Newsletter"]
    async with web.runtime.db.read() as session:
        assert len((await session.execute(select(Contact))).all()) == 3


@pytest.mark.parametrize(
    ("values", "block", "words"),
    [
        ({CONTACTS_PASTE: "+447700900001", GROUP_NAME: "  "}, GROUP_NAME, "Name the group"),
        ({}, CONTACTS_PASTE, "Paste the numbers"),
        ({CONTACTS_PASTE: "+447700900001", CONSENT_SOURCE: " "}, CONSENT_SOURCE, "agreed"),
        ({CONTACTS_PASTE: "12, not a number"}, CONTACTS_PASTE, "no valid phone number"),
    ],
)
async def test_a_bad_import_is_refused_inline_and_stores_nothing(
    web: Api, slack: SlackSandbox, values: dict[str, str], block: str, words: str
) -> None:
    await sms(web, slack, "contacts")
    await press(web, slack, await listed(slack, 1), CONTACTS_IMPORT)
    form = await until(showing(slack, IMPORT_FORM))
    filled = {GROUP_NAME: "Newsletter", CONSENT_SOURCE: "web form", **values}
    errors = await submit(web, slack, form, filled)
    if not errors and block == CONTACTS_PASTE and values:
        # Found only once the numbers are read: a starved web process may not have read them
        # within its 1.5 s, and answers with the working view, then the form with the problem.
        await until(lambda: words in str((top_view(slack) or {}).get("blocks")))
        assert top_view(slack)["callback_id"] == IMPORT_FORM
    else:
        assert set(errors) == {block} and words in errors[block]
    assert await list_contact_groups(web.runtime.ctx) == []


async def test_a_large_file_shows_the_working_view_then_the_counts(
    web: Api, slack: SlackSandbox
) -> None:
    rows = "\n".join(f"+121222{i:05d},Name{i}" for i in range(20_000))  # about 0.4 MB
    upload = slack.add_file("big.csv", "phone,first_name\n" + rows)
    await sms(web, slack, "contacts")
    await press(web, slack, await listed(slack, 1), CONTACTS_IMPORT)
    form = await until(showing(slack, IMPORT_FORM))
    await submit(web, slack, form, {GROUP_NAME: "Everyone", CONSENT_SOURCE: "web form",
                                        CONTACTS_FILE: [slack.file_object(upload.id)]})  # fmt: skip
    assert top_view(slack)["callback_id"] == WORKING
    done = await until(showing(slack, "sms_notice"), timeout=30)
    assert done["id"] == form["id"] and "20,000 new contacts" in str(done["blocks"])
    assert [c for c in slack.calls("views.update") if c.args.get("hash")]
    [group] = await list_contact_groups(web.runtime.ctx)
    assert group.members == 20_000


# -- who may change them


@pytest.mark.parametrize("api_settings", [{"ALLOWED_SLACK_USERS": BOB}], indirect=True)
async def test_someone_not_allowed_can_list_but_not_save_import_or_delete(
    web: Api, slack: SlackSandbox
) -> None:
    ctx = web.runtime.ctx
    await save_template(ctx, "Offer", "Hi", f"slack:{BOB}")
    people = check_recipient_list([{"phone": "+447700900001"}], "GB")
    await import_contacts(ctx, "Newsletter", people, "web form", f"slack:{BOB}")

    await sms(web, slack, "templates")
    templates = await listed(slack, 1)
    assert "Offer" in text_of(templates)  # listing is open to everyone
    await press(web, slack, templates, TEMPLATE_NEW)
    assert "You are not one of the people" in (await listed(slack, 2)).text
    await press(web, slack, templates, TEMPLATE_DELETE)
    assert "You are not one of the people" in (await listed(slack, 3)).text

    await sms(web, slack, "contacts")
    groups = await listed(slack, 4)
    await press(web, slack, groups, CONTACTS_IMPORT)
    assert "You are not one of the people" in (await listed(slack, 5)).text
    await press(web, slack, groups, GROUP_DELETE)
    assert "You are not one of the people" in (await listed(slack, 6)).text
    assert slack.calls("views.open") == []
    assert [t.name for t in await list_templates(ctx)] == ["Offer"]
    assert [g.name for g in await list_contact_groups(ctx)] == ["Newsletter"]

    # A modal opened by someone allowed, submitted by someone who is not (as when a person is
    # removed from the list while the modal is open): the submission is what is checked.
    await sms(web, slack, "templates", user_id=BOB)
    await press(web, slack, await listed(slack, 1, user=BOB), TEMPLATE_NEW, user=BOB)
    form = await until(lambda: slack.modal_stack(BOB) and slack.modal_stack(BOB)[-1])
    errors = await submit_as(web, slack, form, {TEMPLATE_NAME: "Mine",
                                                    TEMPLATE_BODY: "Hello"}, ALICE)  # fmt: skip
    assert errors == {TEMPLATE_NAME: not_allowed(web.runtime.settings)}
    assert f"ask <@{BOB}>" in errors[TEMPLATE_NAME]
    slack.close_view(BOB)
    await sms(web, slack, "contacts", user_id=BOB)
    await press(web, slack, await listed(slack, 2, user=BOB), CONTACTS_IMPORT, user=BOB)
    form = await until(lambda: slack.modal_stack(BOB) and slack.modal_stack(BOB)[-1])
    errors = await submit_as(web, slack, form, {GROUP_NAME: "Mine", CONSENT_SOURCE: "web",
                                                    CONTACTS_PASTE: "+447700900002"}, ALICE)  # fmt: skip
    assert errors == {GROUP_NAME: not_allowed(web.runtime.settings)}
    assert [t.name for t in await list_templates(ctx)] == ["Offer"]
    assert [g.name for g in await list_contact_groups(ctx)] == ["Newsletter"]


# -- what is shown, checked as Slack would


def _accepted(blocks: list[dict[str, Any]], surface: str) -> None:
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None and parsed.to_dict() == block, block
    assert block_kit.problems(blocks, surface=surface) == []


def test_long_lists_stay_within_a_message_and_every_view_is_valid() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    templates = [
        MessageTemplate(id=i, name=f"Template {i:03d} " + "n" * 90, body="b" * 3000,
                        created_by="slack:U1", created_at=now, updated_at=now)
        for i in range(1, 61)
    ]  # fmt: skip
    groups = [GroupSummary(i, f"Group {i:03d} " + "g" * 90, i * 10, "slack:U1", now)
              for i in range(1, 61)]  # fmt: skip
    for shown in (templates_message(templates, "Deleted *x*."), contacts_message(groups)):
        assert len(shown["blocks"]) <= 50 and shown["text"]
        _accepted(shown["blocks"], "message")
        assert "…and 15 more" in str(shown["blocks"][-1])
    metadata = Metadata(extra={"r": "https://hooks.slack.com/actions/T1/1/abc"})
    for view in (
        template_form_view(metadata, name="n" * 100, body="b" * 3000, error="Bad"),
        import_form_view(metadata, group="g" * 100, paste="1" * 3000, consent="c" * 200),
        working_view("Import contacts", "Importing the file…", metadata),
    ):
        assert len(view["title"]["text"]) <= 24
        _accepted(view["blocks"], "modal")
