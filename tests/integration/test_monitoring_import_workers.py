"""The import's worker processes (services/monitoring/platform/offload.py): what they decide is
what the service's own process decides, and a worker that dies costs no chunk."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, date, datetime

import pytest

from services.monitoring.platform import offload
from services.monitoring.platform.decide import ChunkDecision, SurveyDecider
from services.monitoring.platform.layout import IMPORT_HEADERS
from services.monitoring.platform.reader import Sheet
from services.monitoring.platform.rows import Scope, SurveyRow, read_rows
from services.monitoring.risk import MonitoringLines, RiskRules
from shared.auth import Principal, Role
from shared.events.envelope import Actor
from shared.eventstore.context import CommandContext
from tests.support.monitoring import citizen_id, village_code
from tests.unit.test_monitoring_import_rows import MASTERS

TODAY = date(2026, 11, 2)
PLATFORM = Principal("platform", Role.platform, "15")


def rows(n: int) -> list[SurveyRow]:
    values = [
        {
            "村代码": village_code(1 + i % 7),
            "户主姓名": f"户主{i}",
            "户主身份证号": citizen_id(i),
            "户类型": "脱贫户",
            "家庭人口": "3",
            "季度": "2026Q3",
            "家庭人均纯收入(元)": "5000" if i % 4 == 0 else "9000",  # every fourth below the line
            "调查日期": "2026-09-28",
        }
        for i in range(n)
    ]
    sheet = Sheet(
        tuple(IMPORT_HEADERS),
        [(i + 2, tuple(v.get(h) for h in IMPORT_HEADERS)) for i, v in enumerate(values)],
    )
    scope = Scope(frozenset({"150602"}), PLATFORM.covers, TODAY)
    read = read_rows(sheet, scope, MASTERS.id_digest)
    assert not read.errors
    return read.valid


def decider() -> SurveyDecider:
    ctx = CommandContext(
        actor=Actor(id="platform", role="platform", region_code="15"),
        now=datetime(2026, 11, 2, 2, tzinfo=UTC),
        correlation_id="c",
    )
    lines = MonitoringLines(by_province={"15": {2026: 7900}})
    return SurveyDecider(ctx, "B-1", lines, RiskRules(), PLATFORM.covers, TODAY)


def shape(decision: ChunkDecision) -> list[tuple[object, ...]]:
    """What a decision writes, without the random parts (ids, keys, nonces, times)."""
    written = [row for _, stored in decision.appended_rows for row in stored]
    return [(row[2], row[3], row[5]) for row in written]


async def test_workers_decide_each_chunk_in_order_as_the_service_would() -> None:
    chunks = [rows(300)[i : i + 100] for i in range(0, 300, 100)]
    decided = [(chunk, decision) async for chunk, decision in offload.decided_elsewhere(decider(), chunks)]
    assert [chunk for chunk, _ in decided] == chunks
    for chunk, decision in decided:
        here = decider().decide(chunk, {})
        assert decision.appended_rows and not decision.created  # plain values came back
        assert shape(decision) == shape(here)
        assert decision.tally == here.tally and decision.tally.flagged == 25
        assert set(decision.created_ids) == {row.digest for row in chunk}
        assert len(decision.new_keys) == len(decision.index_rows) == len(chunk)


def _die() -> None:
    os._exit(1)


async def test_a_dead_worker_costs_no_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    with pytest.raises(BrokenProcessPool):
        broken.submit(_die).result()
    monkeypatch.setattr(offload, "_pool", broken)
    chunks = [rows(60)[i : i + 20] for i in range(0, 60, 20)]
    decided = [(chunk, decision) async for chunk, decision in offload.decided_elsewhere(decider(), chunks)]
    assert [chunk for chunk, _ in decided] == chunks
    assert all(shape(decision) == shape(decider().decide(chunk, {})) for chunk, decision in decided)
    assert offload._pool is None  # the next import starts new workers
