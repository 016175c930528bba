"""The stored data: SQLAlchemy 2 typed models.

Counts are never stored: they are computed from recipient rows (see `campaigns.counts`). Times are
stored in UTC and always come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from campaigns.status import CampaignStatus, RecipientStatus

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A recipient claimed that Twilio has no message for yet (as far as we know): held by a send loop,
# or waiting for a lookup. Written as SQL for the partial index that holds only these rows.
UNSETTLED = f"status = '{RecipientStatus.QUEUED.value}' AND twilio_sid IS NULL"

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC that always loads timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Textcast stores aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        Index("ix_campaigns_status_scheduled_at", "status", "scheduled_at"),
        Index("ix_campaigns_created_at", "created_at"),
        UniqueConstraint("created_by", "idempotency_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24), default=CampaignStatus.DRAFT)
    source: Mapped[str] = mapped_column(String(16))  # "slack" or "api"
    message_template: Mapped[str] = mapped_column(Text)
    # "number" (one), "pool" (several, load shared) or "service" (Messaging Service SID).
    sender_mode: Mapped[str] = mapped_column(String(16))
    from_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Pictures or files sent with every message (MMS): Twilio fetches each URL itself.
    media_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: send now
    # Its own sending hours (`09:00-20:00` or `any`) in each recipient's zone; None: SEND_HOURS.
    send_hours: Mapped[str | None] = mapped_column(String(24))
    # A running campaign whose every unsent recipient waits for their sending hours: no loop
    # drives it, and the sweep leaves it alone, until then (the database's clock).
    wake_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every edit and by cancel, so a deferred start job for an old version is a no-op.
    version: Mapped[int] = mapped_column(Integer, default=1)
    region: Mapped[str | None] = mapped_column(String(2))

    created_by: Mapped[str] = mapped_column(String(64))  # actor, e.g. "slack:U123", "api:key_ab"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last time (database clock) a send loop held the campaign: a running campaign whose
    # loops have been gone for longer than LATE_START_SECONDS is not resumed without asking.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    pause_reason: Mapped[str | None] = mapped_column(Text)

    consent_confirmed_by: Mapped[str | None] = mapped_column(String(64))
    consent_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Approval by a second person: why it was needed, the request in Slack, who said yes.
    approval_reason: Mapped[str | None] = mapped_column(Text)
    approval_channel: Mapped[str | None] = mapped_column(String(32))
    approval_ts: Mapped[str | None] = mapped_column(String(32))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who made a version of it since its last approval (its creator, until one; each editor),
    # in order, once each: none of them may approve it. Each version's maker is in the audit log.
    changed_by: Mapped[list[str]] = mapped_column(JSON, default=list)

    channel_id: Mapped[str | None] = mapped_column(String(32))
    progress_message_ts: Mapped[str | None] = mapped_column(String(32))
    summary_message_ts: Mapped[str | None] = mapped_column(String(32))  # in the progress thread
    # The delivery chart posted in the progress thread (a Slack file id) when the summary became
    # final (chart_file_id: one at the end of sending, posted by earlier versions). "" while it
    # is being posted, or if posting it failed: either way it is not tried again.
    chart_file_id: Mapped[str | None] = mapped_column(String(32))
    final_chart_file_id: Mapped[str | None] = mapped_column(String(32))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # sha256 of the create request's body, to tell a replay from a reused key
    request_digest: Mapped[str | None] = mapped_column(String(64))

    # What the recipient import found (invalid rows, duplicates, warnings, variables), and what
    # the messages cost (segments, encoding, placeholders): fixed between edits, so kept.
    import_report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message_stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    recipients: Mapped[list[Recipient]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True
    )


class Recipient(Base):
    __tablename__ = "recipients"
    __table_args__ = (
        # Serves both the counts query (GROUP BY status) and "next pending recipients of X".
        Index("ix_recipients_campaign_status_id", "campaign_id", "status", "id"),
        # A number appears once per campaign: the database refuses a double send at the source.
        UniqueConstraint("campaign_id", "phone"),
        # A reply or a STOP finds the campaigns that texted its number.
        Index("ix_recipients_phone", "phone"),
        # Claimed without a SID: what the worker's once-a-second settle queries look for, without
        # reading the queued rows that have a SID (claims.py; migration 0016).
        Index(
            "ix_recipients_unsettled",
            "campaign_id",
            "check_at",
            "id",
            postgresql_where=text(UNSETTLED),
            sqlite_where=text(UNSETTLED),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    row: Mapped[int] = mapped_column(Integer)  # where it stood in the person's input
    phone: Mapped[str] = mapped_column(String(20))
    variables: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    segments: Mapped[int] = mapped_column(SmallInteger, default=1)
    status: Mapped[str] = mapped_column(String(12), default=RecipientStatus.PENDING)
    sender: Mapped[str | None] = mapped_column(String(40))  # a number, or a service's SID
    twilio_sid: Mapped[str | None] = mapped_column(String(40), unique=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_reason: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    # A send loop claims a recipient (pending -> queued) before any request for it: its token,
    # the claim's time and a lease, all on the database's clock. The owner renews the lease while
    # it holds the claim; every write about the recipient is conditional on the token, so a loop
    # that lost its claim can neither send nor record it (see campaigns/service/claims.py).
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Quarantine: a request whose outcome is unknown (or whose owner vanished) is never resent
    # on a guess. It waits, owned by nobody, until `check_at`, when a lookup in Twilio settles it.
    unknown_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Pending, and outside its sending hours when a loop last looked: not claimed before this.
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When this claim passed the frequency cap's check (database clock): the cap counts other
    # campaigns' messages in the order their checks committed, under a lock per number, never by
    # a claim's time, which is read before the claim waits for locks and commits.
    capped_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When Twilio took the message (written with its SID): the delivery chart's "sent" curve.
    # A final status's time is `updated_at`: statuses only move forward, so it is the last write.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship(back_populates="recipients")


class OptOut(Base):
    """A number's current opt-out state; its history is in `opt_out_events`."""

    __tablename__ = "opt_outs"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    opted_out: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OptOutEvent(Base):
    __tablename__ = "opt_out_events"
    __table_args__ = (
        # A number's events in order: its history, and the event before or after one (which
        # the suppression list asks of every row it pages through).
        Index("ix_opt_out_events_phone_id", "phone", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(20))
    opted_out: Mapped[bool] = mapped_column(Boolean)  # True: opted out, False: opted back in
    keyword: Mapped[str | None] = mapped_column(String(32))  # "STOP", "START", ...
    source: Mapped[str] = mapped_column(String(32))  # "sms", "twilio_21610", "slack", "api"
    actor: Mapped[str | None] = mapped_column(String(64))
    campaign_id: Mapped[str | None] = mapped_column(String(32))
    sender: Mapped[str | None] = mapped_column(String(40))  # the number (or service) it came to
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundMessage(Base):
    """A text a recipient sent to one of our numbers: kept before Twilio is answered, once per
    MessageSid (Twilio may post the same one again), with what it meant and where it belongs."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        # The Slack side not done yet: the sweep's query.
        Index("ix_inbound_messages_handled_at_id", "handled_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_sid: Mapped[str] = mapped_column(String(40), unique=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)  # who wrote (From)
    sender: Mapped[str] = mapped_column(String(40))  # our number it came to (To)
    messaging_service_sid: Mapped[str | None] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    media_types: Mapped[list[str]] = mapped_column(JSON, default=list)  # one per file
    meaning: Mapped[str] = mapped_column(String(16))  # campaigns.keywords.Meaning
    keyword: Mapped[str | None] = mapped_column(String(32))
    # The campaign that last texted this number from this sender, within REPLY_WINDOW_DAYS.
    campaign_id: Mapped[str | None] = mapped_column(String(32))
    recipient_id: Mapped[int | None] = mapped_column(BigId)
    source: Mapped[str] = mapped_column(String(16))  # "webhook" or "poll"
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A HELP answered with HELP_TEXT: at most one a day per number (a repeat is answered as the
    # first was, so Twilio posting it again changes nothing).
    help_answered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The Slack side (notice or reply in the thread): done once, by the worker.
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))


class TestSend(Base):
    """A test message of a campaign, sent to the person who asked ("Send a test to me"): no
    recipient of the campaign, but a message Twilio bills, so counted in the month's spend, and
    counted per person for the hourly limit (TEST_SENDS_PER_HOUR)."""

    __tablename__ = "test_sends"
    __test__ = False  # not a pytest test class, whatever its name
    __table_args__ = (Index("ix_test_sends_actor_created_at", "actor", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))  # "slack:U0ALICE"
    to_masked: Mapped[str] = mapped_column(String(20))  # the number, masked as in logs
    segments: Mapped[int] = mapped_column(Integer)  # what it costs: segments, or an MMS
    mms: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))  # campaigns.service.test_sends.TestStatus
    twilio_sid: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SenderNumberRow(Base):
    """A Twilio number Textcast has been configured to send from (kept in step with settings)."""

    __tablename__ = "sender_numbers"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    mps: Mapped[int] = mapped_column(Integer, default=1)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MessageTemplate(Base):
    __tablename__ = "message_templates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ContactGroupMember(Base):
    __tablename__ = "contact_group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("contact_groups.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    variables: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Where and when this person agreed to be texted ("web form", "paper form at reception").
    consent_source: Mapped[str] = mapped_column(String(200))
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    groups: Mapped[list[ContactGroup]] = relationship(
        secondary="contact_group_members", back_populates="contacts"
    )


class ContactGroup(Base):
    __tablename__ = "contact_groups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contacts: Mapped[list[Contact]] = relationship(
        secondary="contact_group_members", back_populates="groups"
    )


class ApiKey(Base):
    """An HTTP API key; the secret is shown once and only its hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the public KEY_ID
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who did what, when: every change of campaign state and consent leaves one."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[str | None] = mapped_column(String(32), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MediaFile(Base):
    """A picture uploaded for a campaign's messages, served to Twilio at /media/<token>.

    In the database so that every web process can serve it. `campaign_id` is the campaign it
    was uploaded with; campaigns name it in their media list as `upload:<id>` (the copy made to
    edit a scheduled campaign names the same file), so it is no foreign key and is not removed
    with a draft.
    """

    __tablename__ = "media_files"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(32), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
