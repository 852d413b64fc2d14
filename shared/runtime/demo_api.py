"""How ``xingcun demo`` talks to the services: their public HTTP APIs only, each call with a bearer
token of the role and region an officer of the county would hold, a bounded number of calls at
once, and refusals raised with the problem's rule and detail."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.auth import Role, issue_token
from shared.runtime.demo_households import Household

TokenFor = Callable[[Role, str], str]
"""A bearer token of ``role`` for the region prefix given."""

# The services the demo drives, by the names ``xingcun up`` gives them.
SERVICES = ("pairing", "monitoring", "reporting", "notification")


class DemoError(Exception):
    """The demo cannot go on: a service refused a call it needs, or is not there."""


class Refused(DemoError):
    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        self.status = status
        self.rule = ""
        self.detail = body[:500]
        try:
            problem = httpx.Response(status, content=body).json()
            self.rule = str(problem.get("rule") or "")
            self.detail = str(problem.get("detail") or body[:500])
        except ValueError:
            pass
        super().__init__(f"{method} {url}: {status} {self.rule} {self.detail}".strip())


def tokens_signed_with(secret: bytes, subject: str = "xingcun-demo", hours: int = 12) -> TokenFor:
    """Tokens as ``xingcun token`` issues them, signed with the deployment's secret."""

    def token_for(role: Role, region: str) -> str:
        now = datetime.now(UTC)
        return issue_token(
            secret, subject=subject, role=role, region=region, now=now, ttl=timedelta(hours=hours)
        )

    return token_for


class Api:
    """Calls to the four services, ``concurrency`` at a time."""

    def __init__(
        self, clients: Mapping[str, httpx.AsyncClient], token_for: TokenFor, concurrency: int
    ) -> None:
        missing = [s for s in SERVICES if s not in clients]
        if missing:
            raise DemoError(f"no client for {', '.join(missing)}")
        self.clients = clients
        self.token_for = token_for
        self.calls = 0
        self._limit = asyncio.Semaphore(concurrency)
        self._headers: dict[tuple[Role, str], dict[str, str]] = {}

    def headers(self, role: Role, region: str) -> dict[str, str]:
        key = (role, region)
        if key not in self._headers:
            self._headers[key] = {"authorization": f"Bearer {self.token_for(role, region)}"}
        return self._headers[key]

    async def send(
        self,
        service: str,
        method: str,
        path: str,
        role: Role,
        region: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        wait_s: float | None = None,
    ) -> httpx.Response:
        client = self.clients[service]
        async with self._limit:
            self.calls += 1
            try:
                return await client.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    files=files,
                    headers=self.headers(role, region),
                    timeout=wait_s if wait_s is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TransportError as exc:
                raise DemoError(f"{service} did not answer {method} {path}: {exc!r}") from exc

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        role: Role,
        region: str,
        *,
        accept: tuple[int, ...] = (200, 201, 202),
        **sent: Any,
    ) -> Any:
        response = await self.send(service, method, path, role, region, **sent)
        if response.status_code not in accept:
            raise Refused(method, f"{service}{path}", response.status_code, response.text)
        return response.json() if response.content else None

    async def post(self, service: str, path: str, role: Role, region: str, body: Any) -> Any:
        return await self.call(service, "POST", path, role, region, json=body)

    async def get(self, service: str, path: str, role: Role, region: str, **params: str) -> Any:
        return await self.call(service, "GET", path, role, region, params=params)

    async def exists(self, service: str, path: str, role: Role, region: str) -> bool:
        response = await self.send(service, "GET", path, role, region)
        if response.status_code not in (200, 404):
            raise Refused("GET", f"{service}{path}", response.status_code, response.text)
        return response.status_code == 200

    async def gather(self, *jobs: Any) -> list[Any]:
        """Run ``jobs`` (coroutines) at once, within the bound; the first failure stops the rest."""
        tasks = [asyncio.ensure_future(job) for job in jobs]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise


STATUS_NAMES = {"former_poor": "脱贫户", "ordinary": "一般农户", "low_income": "低收入户"}
SURVEY_HEADERS = (
    "批次内序号", "村代码", "户主姓名", "户主身份证号", "户类型", "家庭人口", "季度", "家庭人均纯收入(元)",
    "医疗自付支出(元)", "教育自付支出(元)", "灾害损失支出(元)", "意外事故支出(元)", "调查日期", "联系电话",
)  # fmt: skip


def survey_batch(households: list[Household], quarter: int) -> bytes:
    """The provincial platform's batch of one quarter (docs/integration.md), as CSV: one row per
    household's survey of the quarter (``quarter``: its index among the surveyed quarters)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SURVEY_HEADERS)
    for n, household in enumerate(households, start=1):
        profile, survey = household.profile, household.quarters[quarter]
        writer.writerow(
            (
                n,
                profile.village,
                profile.head.name,
                profile.head.id_number,
                STATUS_NAMES[profile.status],
                survey.members,
                survey.period,
                f"{survey.income:.2f}",
                f"{survey.medical:.2f}",
                f"{survey.schooling:.2f}",
                f"{survey.disaster:.2f}",
                f"{survey.accident:.2f}",
                survey.surveyed_on.isoformat(),
                profile.phone or "",
            )
        )
    return out.getvalue().encode("utf-8")
