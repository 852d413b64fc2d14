"""The event envelope of DESIGN §2: the public contract every downstream system reads."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.regions import REGION_PATTERN


class Actor(BaseModel):
    """Who caused the event: a user (or system account) with its role and region."""

    model_config = ConfigDict(frozen=True)

    id: str
    role: str
    region_code: str = Field(description="The actor's region: a division-code prefix")


class EventData(BaseModel):
    """Base of every event's own fields; subclasses name their type and schema version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1


class Envelope(BaseModel):
    """One stored and published event."""

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID = Field(description="Also the Nats-Msg-Id header (JetStream dedupe)")
    type: str = Field(
        pattern=r"^[a-z]+\.[a-z_]+$",
        examples=["pairing.agreement_signed"],
        description="`service.fact_in_the_past_tense`",
    )
    schema_version: int = Field(ge=1, description="Version of the shape of `data` for this type")
    stream_id: str = Field(min_length=1, description="The aggregate's stream")
    stream_version: int = Field(ge=1, description="1-based position in that stream, no gaps")
    # The division-code rule (12 digits, not province 00) as a pattern the validator checks in
    # Rust: every consumed event is parsed (a Python check was 1.6 % of a replay's time).
    region_code: str = Field(
        pattern=REGION_PATTERN,
        description="12-digit division code of the aggregate; a county-level one ends in zeros",
    )
    occurred_at: AwareDatetime = Field(description="When the fact happened (UTC)")
    recorded_at: AwareDatetime = Field(description="When the service recorded it (UTC)")
    actor: Actor = Field(description="Who caused it")
    correlation_id: str | None = Field(default=None, description="Shared by every event one request caused")
    causation_id: str | None = Field(default=None, description="The event or command that caused it")
    data: dict[str, Any] = Field(description="The event's own fields: see its type below")

    @property
    def service(self) -> str:
        return self.type.split(".", 1)[0]
