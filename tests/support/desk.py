"""A county's monitoring officers at their desks: a client, a token per role and the clock they
share, with each workflow step taken by the role that takes it (for tests over HTTP)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from services.monitoring.domain import household_stream
from shared.auth import Role
from shared.clock import FixedClock, china_date
from shared.settings import Settings
from tests.support.apps import token
from tests.support.monitoring import household_body, village_code

COUNTY = "150602"
VILLAGE = village_code(1)
START = date(2026, 1, 5)


def noon_in_china(day: date) -> datetime:
    return datetime.combine(day, time(4), UTC)  # 12:00 China time


@dataclass
class Desk:
    """The county's officers at their desks: one client, a token per role, and the clock they share."""

    app: FastAPI
    client: httpx.AsyncClient
    clock: FixedClock
    settings: Settings
    tokens: dict[Role, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tokens = {role: token(self.settings, role, COUNTY) for role in Role}
        self.tokens[Role.village_officer] = token(self.settings, Role.village_officer, VILLAGE)

    @property
    def today(self) -> date:
        return china_date(self.clock.now())

    def next_day(self, days: int = 1) -> str:
        """Move the clock on and give the new day (each step on a day of its own keeps them in order)."""
        self.clock.advance(timedelta(days=days))
        return self.today.isoformat()

    def set_day(self, day: date) -> str:
        self.clock.set(noon_in_china(day))
        return day.isoformat()

    async def post(self, path: str, body: dict[str, Any], role: Role) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.tokens[role])

    async def ok(self, path: str, body: dict[str, Any], role: Role, status: int = 200) -> dict[str, Any]:
        response = await self.post(path, body, role)
        assert response.status_code == status, f"{path}: {response.text}"
        result: dict[str, Any] = response.json()
        return result

    async def register(self, n: int, **overrides: Any) -> str:
        created = await self.ok("/households", household_body(n, **overrides), Role.village_officer, 201)
        return str(created["id"])

    async def events(self, household_id: str) -> list[str]:
        stored = await self.app.state.runtime.store.load(household_stream(uuid.UUID(household_id)))
        return [e.type.removeprefix("monitoring.") for e in stored]

    async def count(self) -> int:
        async with self.app.state.runtime.store.pool.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM events"))

    async def index_rows(self) -> int:
        async with self.app.state.runtime.store.pool.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM person_index"))

    # -- the steps, each on a day of its own, by the role that takes it ------------------------------

    async def flag(self, hid: str, **extra: Any) -> dict[str, Any]:
        body = {"source": "cadre_visit", "risk_types": ["illness"], "flagged_on": self.next_day(), **extra}
        return await self.ok(f"/households/{hid}/flags", body, Role.village_officer, 201)

    async def verify(self, hid: str, risks: tuple[str, ...] = ("illness",)) -> dict[str, Any]:
        body = {"verified_on": self.next_day(), "risk_types": list(risks), "findings": "入户核实属实"}
        return await self.ok(f"/households/{hid}/verification", body, Role.township_officer)

    async def deliberate(self, hid: str) -> dict[str, Any]:
        day = self.next_day()
        body = {"deliberated_on": day, "votes_for": 11, "votes_against": 2, "notice_from": day}
        return await self.ok(f"/households/{hid}/deliberation", body, Role.village_officer)

    async def review(self, hid: str) -> dict[str, Any]:
        body = {"reviewed_on": self.next_day(self.settings.notice_days), "opinion": "公示无异议"}
        return await self.ok(f"/households/{hid}/review", body, Role.township_officer)

    async def approve(self, hid: str, category: str | None = "unstable_after_exit") -> dict[str, Any]:
        body: dict[str, Any] = {"approved_on": self.next_day()}
        if category:
            body["category"] = category
        return await self.ok(f"/households/{hid}/approval", body, Role.county_officer)

    async def propose(self, hid: str) -> dict[str, Any]:
        body = {"proposed_on": self.next_day(), "note": "收入稳定"}
        return await self.ok(f"/households/{hid}/elimination-proposal", body, Role.village_officer)

    async def reject(self, hid: str, role: Role) -> dict[str, Any]:
        body = {"rejected_on": self.next_day(), "reason": "经核实不符合条件"}
        return await self.ok(f"/households/{hid}/rejection", body, role)

    async def enrol(self, hid: str) -> None:
        await self.flag(hid)
        await self.verify(hid)
        await self.deliberate(hid)
        await self.review(hid)
        assert (await self.approve(hid))["stage"] == "monitored"

    async def survey(
        self, hid: str, body: dict[str, Any], role: Role = Role.village_officer
    ) -> dict[str, Any]:
        return await self.ok(f"/households/{hid}/surveys", body, role)
