"""The API's request bodies, checked for shape before the service layer checks the rules."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, model_validator

from campaigns.limits import MAX_RECIPIENTS

VariableValue = str | int | float | bool | None


class RecipientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(max_length=100)
    variables: dict[str, VariableValue] = Field(default_factory=dict)


class CreateCampaign(BaseModel):
    """POST /v1/sms/campaigns, as the seed's API has it, plus recipients_csv and from_numbers."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    message_template: str | None = Field(default=None, min_length=1, max_length=10_000)
    # Strict: `true` or "7" is a mistake, not template 1 or 7 (bot/api/from_library.py).
    template_id: StrictInt | None = None  # a saved template's body instead
    from_number: str | None = Field(default=None, max_length=64)
    from_numbers: list[str] | None = Field(default=None, min_length=1, max_length=100)
    recipients: list[RecipientIn] | None = Field(default=None, max_length=MAX_RECIPIENTS + 1)
    recipients_csv: str | None = None
    contact_group_id: StrictInt | None = None  # a contact group's contacts instead
    schedule_type: Literal["now", "schedule"] = "now"
    scheduled_at: AwareDatetime | None = None
    agent_id: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, min_length=2, max_length=2)
    # The service says how many a message takes (10); this only bounds what is read.
    media_urls: list[str] | None = Field(default=None, max_length=100)
    send_hours: str | None = Field(default=None, max_length=24)

    @model_validator(mode="after")
    def _one_of_each(self) -> CreateCampaign:
        if (self.message_template is None) == (self.template_id is None):
            raise ValueError("send either message_template (the text) or template_id")
        lists = (self.recipients, self.recipients_csv, self.contact_group_id)
        if sum(given is not None for given in lists) != 1:
            raise ValueError(
                "send one of recipients (a list), recipients_csv (CSV text) or contact_group_id"
            )
        if self.from_number is not None and self.from_numbers is not None:
            raise ValueError("send either from_number or from_numbers")
        if self.schedule_type == "schedule" and self.scheduled_at is None:
            raise ValueError("scheduled_at is required when schedule_type is 'schedule'")
        if self.schedule_type == "now" and self.scheduled_at is not None:
            raise ValueError("scheduled_at goes with schedule_type 'schedule'")
        return self

    def senders(self) -> list[str] | None:
        if self.from_numbers is not None:
            return self.from_numbers
        return [self.from_number] if self.from_number is not None else None


class EditCampaign(BaseModel):
    """PATCH /v1/sms/campaigns/{id}: only the fields to change; what is left out stays as it is.

    No field takes null: a null would be read as "leave it", which hides a mistake in the
    caller, so it is refused and the message says to leave the field out instead.
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    message_template: str | None = Field(default=None, min_length=1, max_length=10_000)
    from_number: str | None = Field(default=None, max_length=64)
    from_numbers: list[str] | None = Field(default=None, min_length=1, max_length=100)
    recipients: list[RecipientIn] | None = Field(default=None, max_length=MAX_RECIPIENTS + 1)
    recipients_csv: str | None = None
    region: str | None = Field(default=None, min_length=2, max_length=2)
    schedule_type: Literal["now", "schedule"] | None = None
    scheduled_at: AwareDatetime | None = None
    media_urls: list[str] | None = Field(default=None, max_length=100)  # [] removes them
    send_hours: str | None = Field(default=None, max_length=24)  # "" goes back to SEND_HOURS

    @model_validator(mode="after")
    def _consistent(self) -> EditCampaign:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{nulls[0]} may not be null: leave it out to keep it as it is")
        if self.recipients is not None and self.recipients_csv is not None:
            raise ValueError("send either recipients (a list) or recipients_csv (CSV text)")
        if self.region is not None and self.recipients is None and self.recipients_csv is None:
            raise ValueError("region goes with new recipients (recipients or recipients_csv)")
        if self.from_number is not None and self.from_numbers is not None:
            raise ValueError("send either from_number or from_numbers")
        if self.schedule_type == "now" and self.scheduled_at is not None:
            raise ValueError("scheduled_at goes with schedule_type 'schedule'")
        if self.schedule_type == "schedule" and self.scheduled_at is None:
            raise ValueError("scheduled_at is required when schedule_type is 'schedule'")
        return self

    def senders(self) -> list[str] | None:
        if self.from_numbers is not None:
            return self.from_numbers
        return [self.from_number] if self.from_number is not None else None

    def new_recipients(self) -> bool:
        return self.recipients is not None or self.recipients_csv is not None
