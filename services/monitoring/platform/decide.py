"""What a chunk of survey rows makes of the households: the events to append, the keys and ID
index rows of the households it creates, and the rows refused against what is stored.

Plain Python over aggregates the caller loaded (no I/O): each row is the household's own
``survey`` command, so the risk rules run and the domain recognises a batch's period already
recorded (it returns no event: the row is "unchanged").
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from services.monitoring.domain import Household, household_stream
from services.monitoring.personal import new_household_key, seal
from services.monitoring.platform.layout import HEAD_ID, VILLAGE, Column
from services.monitoring.platform.report import RowError, masked
from services.monitoring.platform.rows import SurveyRow
from services.monitoring.risk import MonitoringLines, RiskRules
from shared.domain import DomainError
from shared.events.catalogue.monitoring import (
    HouseholdFlagged,
    LabourAbility,
    Member,
    Relation,
    Schooling,
)
from shared.events.envelope import EventData
from shared.eventstore.context import CommandContext, wrapped_rows
from shared.eventstore.store import EventRow
from shared.ids import uuid7

# What is known of a household created from a survey row: its head, as the row gives them. The
# rest is what a county officer completes (PUT /households/{id}/members); docs/integration.md.
NEW_HEAD_LABOUR = LabourAbility.ordinary
NEW_HEAD_SCHOOLING = Schooling.junior_secondary


@dataclass
class Tally:
    imported: int = 0  # rows whose survey is recorded
    unchanged: int = 0  # rows whose batch and period the household already has (or the same survey)
    households_created: int = 0
    flagged: int = 0  # households the rules flagged
    events: int = 0

    def add(self, other: Tally) -> None:
        self.imported += other.imported
        self.unchanged += other.unchanged
        self.households_created += other.households_created
        self.flagged += other.flagged
        self.events += other.events


@dataclass
class ChunkDecision:
    new_keys: dict[uuid.UUID, bytes] = field(default_factory=dict)
    index_rows: list[tuple[bytes, uuid.UUID, int]] = field(default_factory=list)
    created: dict[bytes, Household] = field(default_factory=dict)  # by the head's ID digest
    errors: list[RowError] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    # (expected version, one stream's envelopes as stored rows): plain values, for worker processes
    appended_rows: list[tuple[int, list[EventRow]]] = field(default_factory=list)
    created_ids: dict[bytes, uuid.UUID] = field(default_factory=dict)  # from a worker: no Household

    def merge(self, later: ChunkDecision) -> None:
        """Add what ``later`` decided on the rows after these (its appends follow these)."""
        self.new_keys.update(later.new_keys)
        self.index_rows += later.index_rows
        self.created.update(later.created)
        self.errors += later.errors
        self.tally.add(later.tally)
        self.appended_rows += later.appended_rows
        self.created_ids.update(later.created_ids)


@dataclass(frozen=True)
class SurveyDecider:
    ctx: CommandContext
    batch_id: str
    lines: MonitoringLines
    rules: RiskRules
    covers: Callable[[str], bool]
    today: date

    def decide(self, rows: Sequence[SurveyRow], known: dict[bytes, Household]) -> ChunkDecision:
        """``known``: the stored households of the rows' ID digests (one object per household,
        whichever member's digest names it); those the chunk creates are added to it. A rejected
        row leaves nothing behind, not even the household it would have created."""
        decision = ChunkDecision()
        touched: dict[uuid.UUID, tuple[Household, int, list[EventData]]] = {}
        for row in rows:
            household = known.get(row.digest)
            key: bytes | None = None  # set for a household this row registers
            registered: list[EventData] = []
            if household is None:
                household, key, registered = self._registered(row)
            elif refusal := self._refusal(row, household):
                decision.errors.append(refusal)
                continue
            try:
                surveyed = household.survey(
                    survey_id=uuid7(),
                    flag_id=uuid7(),
                    period=row.period,
                    surveyed_on=row.surveyed_on,
                    quarterly=row.survey(),
                    batch_id=self.batch_id,
                    lines=self.lines,
                    rules=self.rules,
                    today=self.today,
                )
            except DomainError as error:
                decision.errors.append(
                    _row_error(row, HEAD_ID, masked(row.id_number), error.message, error.rule)
                )
                continue
            hid = household.household_id
            assert hid is not None
            if key is not None:
                self._created(row, household, key, decision)
                known[row.digest] = household
            if hid not in touched:
                touched[hid] = (household, household.version - len(registered), [])
            touched[hid][2].extend(registered)
            for event in surveyed:
                household.apply(event)
            touched[hid][2].extend(surveyed)
            self._count(decision.tally, surveyed)
        for household, base, events in touched.values():
            if events:
                assert household.household_id is not None
                stream = household_stream(household.household_id)
                rows = wrapped_rows(self.ctx, stream, base, household.village_code, events)
                decision.appended_rows.append((base, rows))
                decision.tally.events += len(rows)
        return decision

    def _registered(self, row: SurveyRow) -> tuple[Household, bytes, list[EventData]]:
        """A household of the row's head alone, registered (its event applied), and its key."""
        hid = uuid7()
        key = new_household_key()
        head = Member(
            member_no=1,
            relation=Relation.head,
            age=row.head_age,
            labour=NEW_HEAD_LABOUR,
            schooling=NEW_HEAD_SCHOOLING,
            sealed=seal(key, hid, {"name": row.head_name, "id_number": row.id_number}),
        )
        household = Household()
        events = household.register(
            household_id=hid,
            village_code=row.village_code,
            status=row.status,
            members=[head],
            sealed=seal(key, hid, {"phone": row.phone}),
            batch_id=self.batch_id,
        )
        for event in events:
            household.apply(event)
        return household, key, events

    @staticmethod
    def _created(row: SurveyRow, household: Household, key: bytes, decision: ChunkDecision) -> None:
        assert household.household_id is not None
        decision.new_keys[household.household_id] = key
        decision.index_rows.append((row.digest, household.household_id, 1))
        decision.created[row.digest] = household
        decision.tally.households_created += 1

    def _refusal(self, row: SurveyRow, household: Household) -> RowError | None:
        if not household.registered:
            return _row_error(
                row,
                HEAD_ID,
                masked(row.id_number),
                "the ID index names no registered household",
                "household_registered",
            )
        if not self.covers(household.village_code):
            return _row_error(
                row,
                HEAD_ID,
                masked(row.id_number),
                f"the household of this ID number is on record in village {household.village_code}, "
                "outside your region",
                "within_caller_region",
            )
        if household.village_code != row.village_code:
            return _row_error(
                row,
                VILLAGE,
                row.village_code,
                f"the household of this ID number is on record in village {household.village_code}; "
                "a move between villages is not imported",
                "household_village",
            )
        return None

    @staticmethod
    def _count(tally: Tally, events: list[EventData]) -> None:
        if not events:
            tally.unchanged += 1
            return
        tally.imported += 1
        if any(isinstance(e, HouseholdFlagged) for e in events):
            tally.flagged += 1


def _row_error(row: SurveyRow, column: Column, value: str, reason: str, rule: str) -> RowError:
    return RowError(row.number, column.header, value, reason, rule, column.field)
