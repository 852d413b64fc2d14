"""Pairing aggregates: plain classes that check named rules and return events (no I/O, no clock)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from shared.aggregate import Aggregate
from shared.domain import InvalidInput, NotFound, StateConflict
from shared.events.catalogue.pairing import (
    AgreementSigned,
    AgreementTerminated,
    Commitments,
    EnterpriseKind,
    EnterpriseRegistered,
    LeadingLevel,
    Mode,
    Pathway,
    VillageCategory,
    VillageIncomeRecorded,
    VillageRegistered,
)
from shared.events.envelope import EventData

_ENTERPRISE_NAMESPACE = uuid.UUID("6f2b9a4e-3c1d-5e7f-8a9b-0c1d2e3f4a5b")


def enterprise_id_for(credit_code: str) -> uuid.UUID:
    """An enterprise's id follows from its credit code, so registering it twice is a conflict."""
    return uuid.uuid5(_ENTERPRISE_NAMESPACE, credit_code)


def enterprise_stream(enterprise_id: uuid.UUID) -> str:
    return f"enterprise-{enterprise_id}"


def village_stream(village_code: str) -> str:
    return f"village-{village_code}"


class Enterprise(Aggregate):
    """An enterprise taking part in the programme (参与企业)."""

    def __init__(self) -> None:
        super().__init__()
        self.registered: EnterpriseRegistered | None = None

    def when(self, event: EventData) -> None:
        if isinstance(event, EnterpriseRegistered):
            self.registered = event

    def register(
        self,
        *,
        name: str,
        credit_code: str,
        kind: EnterpriseKind,
        county_code: str,
        contact_name: str | None,
        contact_phone: str | None,
        leading_level: LeadingLevel | None,
    ) -> list[EventData]:
        if self.registered is not None:
            raise StateConflict(
                "enterprise_registered_once",
                f"an enterprise with credit code {credit_code} is already registered",
                field="credit_code",
            )
        return [
            EnterpriseRegistered(
                enterprise_id=enterprise_id_for(credit_code),
                name=name,
                credit_code=credit_code,
                kind=kind,
                county_code=county_code,
                contact_name=contact_name,
                contact_phone=contact_phone,
                leading_level=leading_level,
            )
        ]


class AgreementStatus(StrEnum):
    active = "active"
    needs_relay = "needs_relay"  # terminated, no enterprise has taken over yet
    relayed = "relayed"  # terminated, and a relay agreement took over its commitments


@dataclass(frozen=True)
class RelayTerms:
    """The agreement another enterprise signs to take over (接力帮扶); None keeps the old one's."""

    agreement_id: uuid.UUID
    enterprise_id: uuid.UUID
    signed_on: date
    term_years: int
    document_ref: str
    pathways: list[Pathway] | None = None
    mode: Mode | None = None
    commitments: Commitments | None = None


@dataclass
class Agreement:
    """An agreement as its village sees it."""

    signed: AgreementSigned
    status: AgreementStatus = AgreementStatus.active
    terminated_on: date | None = None
    successor_id: uuid.UUID | None = None


class Village(Aggregate):
    """A village and its pairing roster: the boundary that keeps the pairing rules true."""

    def __init__(self) -> None:
        super().__init__()
        self.registered: VillageRegistered | None = None
        self.agreements: dict[uuid.UUID, Agreement] = {}
        self.incomes: dict[int, Decimal] = {}  # year -> collective economy income, yuan

    def when(self, event: EventData) -> None:
        if isinstance(event, VillageRegistered):
            self.registered = event
        elif isinstance(event, VillageIncomeRecorded):
            self.incomes[event.year] = event.income_yuan
        elif isinstance(event, AgreementSigned):
            self.agreements[event.agreement_id] = Agreement(signed=event)
            if event.relays_agreement_id is not None:
                relayed = self.agreements[event.relays_agreement_id]
                relayed.status, relayed.successor_id = AgreementStatus.relayed, event.agreement_id
        elif isinstance(event, AgreementTerminated):
            agreement = self.agreements[event.agreement_id]
            agreement.status = AgreementStatus.needs_relay
            agreement.terminated_on = event.terminated_on

    @property
    def active(self) -> dict[uuid.UUID, uuid.UUID]:
        """Agreement id → enterprise id of the agreements in force."""
        return {
            agreement_id: agreement.signed.enterprise_id
            for agreement_id, agreement in self.agreements.items()
            if agreement.status is AgreementStatus.active
        }

    def register(
        self,
        *,
        village_code: str,
        name: str,
        category: VillageCategory,
        former_poverty_village: bool,
        incomes: dict[int, Decimal] | None = None,
    ) -> list[EventData]:
        if self.registered is not None:
            raise StateConflict(
                "village_registered_once",
                f"village {village_code} is already registered",
                field="village_code",
            )
        events: list[EventData] = [
            VillageRegistered(
                village_code=village_code,
                name=name,
                category=category,
                former_poverty_village=former_poverty_village,
            )
        ]
        events += [
            VillageIncomeRecorded(village_code=village_code, year=year, income_yuan=income)
            for year, income in sorted((incomes or {}).items())
        ]
        return events

    def record_income(self, *, year: int, income_yuan: Decimal) -> list[EventData]:
        """A later record for the same year corrects the earlier one; the same figure again is a no-op."""
        village = self._must_exist()
        if self.incomes.get(year) == income_yuan:
            return []
        return [VillageIncomeRecorded(village_code=village.village_code, year=year, income_yuan=income_yuan)]

    def sign_agreement(
        self,
        *,
        agreement_id: uuid.UUID,
        enterprise_id: uuid.UUID,
        signed_on: date,
        term_years: int,
        document_ref: str,
        pathways: list[Pathway],
        mode: Mode,
        commitments: Commitments,
        max_active_enterprises: int,
        relays_agreement_id: uuid.UUID | None = None,
    ) -> list[EventData]:
        village = self._must_exist()
        partners = set(self.active.values())
        if enterprise_id in partners:
            raise StateConflict(
                "one_active_agreement_per_pair",
                "this enterprise already has an active agreement with this village",
                field="enterprise_id",
            )
        if len(partners) >= max_active_enterprises:
            raise StateConflict(
                "at_most_n_active_enterprises_per_village",
                f"the village already has {max_active_enterprises} active enterprises "
                f"(at most {max_active_enterprises})",
                field="village_code",
            )
        return [
            AgreementSigned(
                agreement_id=agreement_id,
                enterprise_id=enterprise_id,
                village_code=village.village_code,
                signed_on=signed_on,
                term_years=term_years,
                document_ref=document_ref,
                pathways=pathways,
                mode=mode,
                commitments=commitments,
                relays_agreement_id=relays_agreement_id,
            )
        ]

    def terminate_agreement(
        self,
        *,
        agreement_id: uuid.UUID,
        terminated_on: date,
        reason: str,
        relay: RelayTerms | None = None,
        max_active_enterprises: int,
    ) -> list[EventData]:
        """End an active agreement early (提前终止). Without ``relay`` it then needs one; with it,
        the relay agreement is signed in the same step and the termination names it."""
        village = self._must_exist()
        agreement = self._agreement(agreement_id)
        if agreement.status is not AgreementStatus.active:
            raise StateConflict(
                "only_active_agreements_terminate",
                f"the agreement is already terminated ({agreement.status.value})",
                field="agreement_id",
            )
        if terminated_on < agreement.signed.signed_on:
            raise InvalidInput(
                "terminated_after_signing",
                f"an agreement signed on {agreement.signed.signed_on} cannot end before it",
                field="terminated_on",
            )
        terminated = AgreementTerminated(
            agreement_id=agreement_id,
            enterprise_id=agreement.signed.enterprise_id,
            village_code=village.village_code,
            terminated_on=terminated_on,
            reason=reason,
        )
        if relay is None:
            return [terminated]
        after = copy.deepcopy(self)
        after.apply(terminated)
        signed = after.relay_agreement(
            relay, relayed_id=agreement_id, max_active_enterprises=max_active_enterprises
        )
        return [terminated.model_copy(update={"successor_agreement_id": relay.agreement_id}), *signed]

    def relay_agreement(
        self, relay: RelayTerms, *, relayed_id: uuid.UUID, max_active_enterprises: int
    ) -> list[EventData]:
        """Another enterprise takes over a terminated agreement's commitments (接力帮扶): unless
        the relay states its own, it keeps the old agreement's pathways, mode and commitments."""
        old = self._agreement(relayed_id)
        if old.status is AgreementStatus.active:
            raise StateConflict(
                "relay_follows_termination",
                "the agreement is still active: terminate it first, or in the same request",
                field="agreement_id",
            )
        if old.status is AgreementStatus.relayed:
            raise StateConflict(
                "relayed_once",
                f"agreement {relayed_id} was already taken over by {old.successor_id}",
                field="agreement_id",
            )
        if relay.enterprise_id == old.signed.enterprise_id:
            raise StateConflict(
                "relay_by_another_enterprise",
                "a relay is taken over by another enterprise than the one that left",
                field="enterprise_id",
            )
        assert old.terminated_on is not None
        if relay.signed_on < old.terminated_on:
            raise InvalidInput(
                "relay_signed_after_termination",
                f"the relayed agreement ended on {old.terminated_on}; a relay cannot be signed before",
                field="signed_on",
            )
        return self.sign_agreement(
            agreement_id=relay.agreement_id,
            enterprise_id=relay.enterprise_id,
            signed_on=relay.signed_on,
            term_years=relay.term_years,
            document_ref=relay.document_ref,
            pathways=relay.pathways or list(old.signed.pathways),
            mode=relay.mode or old.signed.mode,
            commitments=relay.commitments or old.signed.commitments,
            max_active_enterprises=max_active_enterprises,
            relays_agreement_id=relayed_id,
        )

    def _must_exist(self) -> VillageRegistered:
        if self.registered is None:
            raise NotFound("village_must_exist", "the village is not registered", field="village_code")
        return self.registered

    def _agreement(self, agreement_id: uuid.UUID, field: str = "agreement_id") -> Agreement:
        self._must_exist()
        try:
            return self.agreements[agreement_id]
        except KeyError:
            raise NotFound(
                "agreement_must_exist", f"no agreement {agreement_id} in this village", field=field
            ) from None
