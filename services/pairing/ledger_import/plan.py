"""The events a ledger stands for, decided by the pairing aggregates themselves (no I/O).

Each decided event is applied to its in-memory aggregate before the next row is looked at, so
"at most N active enterprises per village" and "one active agreement per pair" hold across the
file as they hold against what is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from services.pairing.domain import Enterprise, Village, enterprise_id_for, enterprise_stream, village_stream
from services.pairing.ledger_import.layout import Column, Target, column_for, display
from services.pairing.ledger_import.report import RowError, RowWarning
from services.pairing.ledger_import.rows import LedgerRow
from shared.aggregate import Aggregate
from shared.domain import DomainError
from shared.events.envelope import EventData
from shared.regions import county_region

_DOMAIN_FIELDS = {
    "enterprise_id": column_for(Target.enterprise, ("credit_code",)),
    "village_code": column_for(Target.village, ("village_code",)),
}
_COUNTY = column_for(Target.enterprise, ("county_code",))
A = TypeVar("A", bound=Aggregate)


@dataclass
class StreamAppend:
    stream_id: str
    expected_version: int
    region_code: str
    events: list[EventData] = field(default_factory=list)


@dataclass
class Counts:
    enterprises: int = 0
    villages: int = 0
    agreements: int = 0


@dataclass
class Plan:
    appends: list[StreamAppend] = field(default_factory=list)  # enterprises' streams first
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    created: Counts = field(default_factory=Counts)
    existing: Counts = field(default_factory=Counts)

    @property
    def event_count(self) -> int:
        return sum(len(a.events) for a in self.appends)


def streams_of(rows: Sequence[LedgerRow]) -> list[str]:
    """Every stream the rows decide on: their enterprises' and villages'."""
    enterprises = dict.fromkeys(enterprise_stream(enterprise_id_for(r.credit_code)) for r in rows)
    villages = dict.fromkeys(village_stream(r.village.village_code) for r in rows)
    return [*enterprises, *villages]


def plan(
    rows: Sequence[LedgerRow],
    stored: Mapping[str, Sequence[EventData]],
    *,
    max_active_enterprises: int,
    covers: Callable[[str], bool],
) -> Plan:
    """``stored`` holds the history of every stream of ``streams_of(rows)``."""
    return _Planner(stored, max_active_enterprises, covers).run(rows)


class _Planner:
    def __init__(
        self, stored: Mapping[str, Sequence[EventData]], max_active: int, covers: Callable[[str], bool]
    ) -> None:
        self.stored, self.max_active, self.covers = stored, max_active, covers
        self.aggregates: dict[str, Aggregate] = {}
        self.pending: dict[str, StreamAppend] = {}
        self.seen: set[str] = set()
        self.result = Plan()

    def run(self, rows: Sequence[LedgerRow]) -> Plan:
        for row in rows:
            self._row(row)
        pending = list(self.pending.values())
        # Enterprises before villages: an agreement's enterprise is registered earlier in the log.
        self.result.appends = sorted(pending, key=lambda a: not a.stream_id.startswith("enterprise-"))
        return self.result

    def _row(self, row: LedgerRow) -> None:
        if not self._enterprise(row):
            return
        v_stream = village_stream(row.village.village_code)
        village = self._aggregate(v_stream, Village)
        if village.registered is None:
            cmd = row.village
            events = village.register(**cmd.model_dump(exclude={"collective_incomes"}))
            self._decide(v_stream, village, cmd.village_code, events)
            self.result.created.villages += 1
        elif v_stream not in self.seen:
            self.result.existing.villages += 1
            self._warn(row, Target.village, row.village, village.registered)
        self.seen.add(v_stream)

        known = village.agreements.get(row.agreement_id)
        if known is not None:
            self.result.existing.agreements += 1
            self._warn(row, Target.agreement, row.agreement, known.signed)
            return
        try:
            signed = village.sign_agreement(
                agreement_id=row.agreement_id,
                max_active_enterprises=self.max_active,
                **row.agreement.model_dump(exclude={"village_code"}),
            )
        except DomainError as refusal:
            column = _DOMAIN_FIELDS.get(refusal.field or "", _DOMAIN_FIELDS["village_code"])
            self._refuse(row, column, _explained(refusal, village, row), refusal.rule)
            return
        self._decide(v_stream, village, row.village.village_code, signed)
        self.result.created.agreements += 1

    def _enterprise(self, row: LedgerRow) -> bool:
        """Registers the row's enterprise unless it is known; False when the row is refused."""
        stream = enterprise_stream(enterprise_id_for(row.credit_code))
        enterprise = self._aggregate(stream, Enterprise)
        first_sight = stream not in self.seen
        self.seen.add(stream)
        if enterprise.registered is not None:
            if first_sight:
                self.result.existing.enterprises += 1
                self._warn(row, Target.enterprise, row.enterprise, enterprise.registered)
            return True
        region = county_region(row.enterprise.county_code)
        if not self.covers(region):
            reason = (
                "a new enterprise registered outside your region: an officer of its region registers it first"
            )
            self._refuse(row, _COUNTY, reason, "within_caller_region")
            return False
        self._decide(stream, enterprise, region, enterprise.register(**row.enterprise.model_dump()))
        self.result.created.enterprises += 1
        return True

    def _aggregate(self, stream_id: str, cls: type[A]) -> A:
        aggregate = self.aggregates.get(stream_id)
        if aggregate is None:
            aggregate = self.aggregates[stream_id] = cls.from_history(self.stored.get(stream_id, ()))
        assert isinstance(aggregate, cls)
        return aggregate

    def _decide(self, stream_id: str, aggregate: Aggregate, region: str, events: list[EventData]) -> None:
        append = self.pending.get(stream_id)
        if append is None:
            append = self.pending[stream_id] = StreamAppend(stream_id, aggregate.version, region)
        for event in events:
            aggregate.apply(event)
            append.events.append(event)

    def _refuse(self, row: LedgerRow, column: Column, reason: str, rule: str) -> None:
        value = row.shown.get(column.header, "")
        self.result.errors.append(RowError(row.number, column.header, value, reason, rule, column.field_name))

    def _warn(self, row: LedgerRow, target: Target, given: BaseModel, stored: BaseModel) -> None:
        """Values the row states that differ from the stored ones: reported, never overwritten."""
        for path, mine, theirs in _differences(given, stored):
            try:
                column = column_for(target, path)
            except KeyError:
                continue  # a field the ledger has no column for, e.g. the enterprise id
            self.result.warnings.append(
                RowWarning(
                    row.number,
                    column.header,
                    display(column, mine),
                    display(column, theirs),
                    "already stored with another value; the stored value is kept",
                )
            )


def _differences(given: BaseModel, stored: BaseModel) -> list[tuple[tuple[str, ...], Any, Any]]:
    found: list[tuple[tuple[str, ...], Any, Any]] = []
    for name in sorted(given.model_fields_set):
        mine, theirs = getattr(given, name), getattr(stored, name, None)
        if isinstance(mine, BaseModel) and isinstance(theirs, BaseModel):
            found += [((name, *path), a, b) for path, a, b in _differences(mine, theirs)]
        elif name in type(stored).model_fields and mine != theirs:
            found.append(((name,), mine, theirs))
    return found


def _explained(refusal: DomainError, village: Village, row: LedgerRow) -> str:
    """The domain's reason, with the stored or earlier agreement that stands in the way."""
    if refusal.rule != "one_active_agreement_per_pair":
        return refusal.message
    enterprise_id = row.agreement.enterprise_id
    active = next(
        (village.agreements[a].signed for a, e in village.active.items() if e == enterprise_id), None
    )
    if active is None:
        return refusal.message
    return f"{refusal.message} ({active.document_ref}, signed on {active.signed_on})"
