"""Pairing aggregates: plain classes that check named rules and return events (no I/O, no clock)."""

from __future__ import annotations

import uuid
from datetime import date

from shared.aggregate import Aggregate
from shared.domain import NotFound, StateConflict
from shared.events.catalogue.pairing import (
    AgreementSigned,
    Commitments,
    EnterpriseKind,
    EnterpriseRegistered,
    LeadingLevel,
    Mode,
    Pathway,
    VillageCategory,
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


class Village(Aggregate):
    """A village and its pairing roster: the boundary that keeps the pairing rules true."""

    def __init__(self) -> None:
        super().__init__()
        self.registered: VillageRegistered | None = None
        self.active: dict[uuid.UUID, uuid.UUID] = {}  # agreement id -> enterprise id

    def when(self, event: EventData) -> None:
        if isinstance(event, VillageRegistered):
            self.registered = event
        elif isinstance(event, AgreementSigned):
            self.active[event.agreement_id] = event.enterprise_id

    def register(
        self,
        *,
        village_code: str,
        name: str,
        category: VillageCategory,
        former_poverty_village: bool,
    ) -> list[EventData]:
        if self.registered is not None:
            raise StateConflict(
                "village_registered_once",
                f"village {village_code} is already registered",
                field="village_code",
            )
        return [
            VillageRegistered(
                village_code=village_code,
                name=name,
                category=category,
                former_poverty_village=former_poverty_village,
            )
        ]

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
    ) -> list[EventData]:
        if self.registered is None:
            raise NotFound("village_must_exist", "the village is not registered", field="village_code")
        if enterprise_id in self.active.values():
            raise StateConflict(
                "one_active_agreement_per_pair",
                "this enterprise already has an active agreement with this village",
                field="enterprise_id",
            )
        if len(set(self.active.values())) >= max_active_enterprises:
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
                village_code=self.registered.village_code,
                signed_on=signed_on,
                term_years=term_years,
                document_ref=document_ref,
                pathways=pathways,
                mode=mode,
                commitments=commitments,
            )
        ]
