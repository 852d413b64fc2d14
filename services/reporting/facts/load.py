"""Reading a region's ``Facts`` as they were recorded by a moment (one read-only transaction)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.reporting.facts.model import (
    Agreement,
    Binding,
    CardState,
    Cooperative,
    Enterprise,
    Facts,
    Household,
    HouseholdStep,
    IndicatorEntry,
    Investment,
    Milestone,
    Project,
    Survey,
    Village,
    VillageIncome,
)
from shared.clock import china_date

# :region is a division-code prefix ('' for all), :t the moment. A transition recorded after :t
# (a termination, a relay, a reached milestone, an ended binding) did not happen yet.
_VILLAGES = """
    SELECT village_code, name, category, former_poverty_village FROM ledger_villages
    WHERE village_code LIKE :region || '%' AND registered_at <= :t ORDER BY village_code
"""
_INCOMES = """
    SELECT DISTINCT ON (village_code, year) village_code, year, income_yuan FROM ledger_village_incomes
    WHERE village_code LIKE :region || '%' AND recorded_at <= :t
    ORDER BY village_code, year, recorded_at DESC, event_id DESC
"""
_AGREEMENTS = """
    SELECT agreement_id, village_code, enterprise_id, signed_on, term_years, document_ref, pathways,
           mode, investment_yuan, jobs, trainees, purchases_yuan, donations_yuan, relays_agreement_id,
           signed_event_at AS signed_at,
           CASE WHEN relayed_at <= :t THEN 'relayed' WHEN terminated_at <= :t THEN 'needs_relay'
                ELSE 'active' END AS status,
           CASE WHEN terminated_at <= :t THEN terminated_on END AS terminated_on,
           CASE WHEN terminated_at <= :t THEN terminated_at END AS terminated_at,
           CASE WHEN relayed_at <= :t THEN relayed_by END AS relayed_by
    FROM ledger_agreements
    WHERE village_code LIKE :region || '%' AND signed_event_at <= :t ORDER BY signed_on, agreement_id
"""
_PROJECTS = """
    SELECT project_id, village_code, agreement_ids, enterprise_ids, name, industry, budget_yuan, funding,
           beneficiary_households, jobs, registered_on,
           CASE WHEN completed_at <= :t THEN completed_on END AS completed_on,
           CASE WHEN completed_at <= :t THEN assets_value_yuan END AS assets_value_yuan
    FROM ledger_projects
    WHERE village_code LIKE :region || '%' AND registered_at <= :t ORDER BY registered_on, project_id
"""
_MILESTONES = """
    SELECT m.project_id, m.milestone_id, m.name, m.due_on,
           CASE WHEN m.reached_at <= :t THEN m.reached_on END AS reached_on,
           CASE WHEN m.overdue_at <= :t THEN m.overdue_detected_on END AS overdue_detected_on
    FROM ledger_milestones m JOIN ledger_projects p USING (project_id)
    WHERE p.village_code LIKE :region || '%' AND p.registered_at <= :t ORDER BY m.project_id, m.position
"""
_INVESTMENTS = """
    SELECT project_id, village_code, tranche, source, amount_yuan, invested_on, recorded_at
    FROM ledger_investments WHERE village_code LIKE :region || '%' AND recorded_at <= :t
    ORDER BY project_id, tranche
"""
_ENTERPRISES = """
    SELECT enterprise_id, name, credit_code, kind, county_code, leading_level FROM ledger_enterprises e
    WHERE registered_at <= :t AND (
        (length(:region) <= 6 AND county_code LIKE :region || '%')
        OR EXISTS (SELECT 1 FROM ledger_agreements a WHERE a.enterprise_id = e.enterprise_id
                   AND a.village_code LIKE :region || '%' AND a.signed_event_at <= :t)
        OR EXISTS (SELECT 1 FROM ledger_projects p WHERE e.enterprise_id = ANY(p.enterprise_ids)
                   AND p.village_code LIKE :region || '%' AND p.registered_at <= :t))
    ORDER BY name, enterprise_id
"""
_COOPERATIVES = """
    SELECT cooperative_id, name, village_code, leading_industry FROM ledger_cooperatives
    WHERE village_code LIKE :region || '%' AND registered_at <= :t ORDER BY village_code, cooperative_id
"""
_BINDINGS = """
    SELECT binding_id, kind, cooperative_id, village_code, household_id, household_village_code,
           enterprise_id, form, started_on, ends_on,
           CASE WHEN ended_at <= :t THEN ended_on END AS ended_on
    FROM ledger_bindings
    WHERE (village_code LIKE :region || '%' OR household_village_code LIKE :region || '%')
      AND established_at <= :t
    ORDER BY started_on, binding_id
"""
_HOUSEHOLDS = """
    SELECT DISTINCT ON (household_id) household_id, village_code, status, members, labourers, stage,
           category, risk_types, kind
    FROM household_history WHERE village_code LIKE :region || '%' AND recorded_at <= :t
    ORDER BY household_id, version DESC
"""
_STEPS = """
    SELECT household_id, village_code, version, kind, on_date, recorded_at, status, stage, category,
           risk_types, source, urgent, reflagged, procedure, rejected_at_stage, measure, amount_yuan, stable
    FROM household_history
    WHERE village_code LIKE :region || '%' AND recorded_at <= :t
      AND kind NOT IN ('registered', 'members_updated')
    ORDER BY household_id, version
"""
_SURVEYS = """
    SELECT DISTINCT ON (household_id, period) household_id, village_code, period, surveyed_on, members,
           per_capita_income_yuan, rigid_expenses_yuan, medical_insured_all, housing_safe,
           drinking_water_safe, children_of_compulsory_age, out_of_school, labourers, employed
    FROM household_surveys WHERE village_code LIKE :region || '%' AND recorded_at <= :t
    ORDER BY household_id, period, recorded_at DESC, event_id DESC
"""
# Erasure and times eliminated need the whole history up to :t, not only the last row.
_HOUSEHOLD_TOTALS = """
    SELECT household_id, count(*) FILTER (WHERE kind = 'eliminated') AS times_eliminated,
           bool_or(kind = 'erased') AS erased
    FROM household_history WHERE village_code LIKE :region || '%' AND recorded_at <= :t
    GROUP BY household_id
"""
_CARDS = """
    SELECT DISTINCT ON (subject, subject_id) subject, subject_id, village_code, card, reasons,
           judged_on AS since
    FROM card_history WHERE village_code LIKE :region || '%' AND recorded_at <= :t
    ORDER BY subject, subject_id, version DESC
"""
# Entries for the region itself or a region above it (a county's value is its townships' context).
_INDICATORS = """
    SELECT DISTINCT ON (region_code, indicator, year) region_code, indicator, year, baseline, target,
           current, note
    FROM indicator_entries
    WHERE (region_code LIKE :region || '%' OR :region LIKE region_code || '%') AND recorded_at <= :t
    ORDER BY region_code, indicator, year, recorded_at DESC, event_id DESC
"""
_CLOSINGS = """
    SELECT county_code, period, closed_at FROM period_closings
    WHERE (county_code LIKE :region || '%' OR :region LIKE county_code || '%') AND recorded_at <= :t
"""


async def _rows(conn: AsyncConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(text(sql), params)).mappings()]


async def load_facts(engine: AsyncEngine, region: str, as_of: datetime, *, households: bool = True) -> Facts:
    """The facts of ``region`` (a division-code prefix) as recorded by ``as_of``, in one snapshot.

    ``households=False`` leaves out the households, their steps and surveys (most of the rows):
    for readers of the pairing facts alone, such as the card judge."""
    params = {"region": region, "t": as_of}
    async with engine.connect() as conn:
        await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        milestones: dict[Any, list[Milestone]] = {}
        for row in await _rows(conn, _MILESTONES, params):
            milestones.setdefault(row.pop("project_id"), []).append(Milestone(**row))
        projects = tuple(
            Project(
                **{
                    **row,
                    "agreement_ids": tuple(row["agreement_ids"]),
                    "enterprise_ids": tuple(row["enterprise_ids"]),
                    "funding": tuple((f["source"], _decimal(f["amount_yuan"])) for f in row["funding"]),
                },
                milestones=tuple(milestones.get(row["project_id"], ())),
            )
            for row in await _rows(conn, _PROJECTS, params)
        )
        totals = (
            {r["household_id"]: r for r in await _rows(conn, _HOUSEHOLD_TOTALS, params)} if households else {}
        )
        households_now = []
        for row in await _rows(conn, _HOUSEHOLDS, params) if households else []:
            row.pop("kind")
            total = totals[row["household_id"]]
            households_now.append(
                Household(
                    **{**row, "risk_types": tuple(row["risk_types"])},
                    times_eliminated=total["times_eliminated"],
                    erased=bool(total["erased"]),
                )
            )
        return Facts(
            region=region,
            as_of=as_of,
            today=china_date(as_of),
            villages=tuple(Village(**r) for r in await _rows(conn, _VILLAGES, params)),
            incomes=tuple(VillageIncome(**r) for r in await _rows(conn, _INCOMES, params)),
            enterprises=tuple(Enterprise(**r) for r in await _rows(conn, _ENTERPRISES, params)),
            agreements=tuple(
                Agreement(**{**r, "pathways": tuple(r["pathways"])})
                for r in await _rows(conn, _AGREEMENTS, params)
            ),
            projects=projects,
            investments=tuple(Investment(**r) for r in await _rows(conn, _INVESTMENTS, params)),
            cooperatives=tuple(Cooperative(**r) for r in await _rows(conn, _COOPERATIVES, params)),
            bindings=tuple(Binding(**r) for r in await _rows(conn, _BINDINGS, params)),
            households=tuple(households_now),
            steps=tuple(
                HouseholdStep(**{**r, "risk_types": tuple(r["risk_types"])})
                for r in (await _rows(conn, _STEPS, params) if households else [])
            ),
            surveys=tuple(Survey(**r) for r in (await _rows(conn, _SURVEYS, params) if households else [])),
            cards=tuple(
                CardState(**{**r, "reasons": tuple(x["text"] for x in r["reasons"])})
                for r in await _rows(conn, _CARDS, params)
            ),
            indicator_entries=tuple(IndicatorEntry(**r) for r in await _rows(conn, _INDICATORS, params)),
            closings={
                (r["county_code"], r["period"]): r["closed_at"] for r in await _rows(conn, _CLOSINGS, params)
            },
        )


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))
