"""A filing's canonical JSON and hashes, and a table as filed compared with it as corrected."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.reporting.facts.model import Facts, Investment
from services.reporting.filing import canonical, compare, compare_filing, digests, filing, form, sha256
from services.reporting.periods import HalfYear
from services.reporting.tables.registry import Options, build_all
from services.reporting.tables.table import Column, Kind, Table, totals_row
from tests.support.reporting import invested_in_period_table

COLUMNS = (
    Column("village", "村"),
    Column("projects", "项目数", Kind.integer, summed=True),
    Column("invested_yuan", "到位资金（元）", Kind.yuan, summed=True),
    Column("signed_on", "签约日期", Kind.date),
)


def progress(
    rows: list[dict[str, Any]], *, name: str = "progress", columns: tuple[Column, ...] = COLUMNS
) -> Table:
    return Table(name, "进度表", columns, tuple(rows), totals_row(columns, rows))


def row(village: str, projects: int, invested: str, signed_on: date | None = None) -> dict[str, Any]:
    return {
        "village": village,
        "projects": projects,
        "invested_yuan": Decimal(invested),
        "signed_on": signed_on,
    }


FILED = [row("甲村", 1, "2000000.00", date(2026, 1, 5)), row("乙村", 2, "150000.00"), row("丙村", 1, "10.00")]


# -- hashing ------------------------------------------------------------------------------------


def test_the_hash_is_that_of_the_canonical_json_and_ignores_key_order() -> None:
    first = progress(FILED)
    reordered = progress([dict(reversed(list(r.items()))) for r in FILED])
    (filed,) = filing([first])
    assert filed["rows"][0] == {
        "village": "甲村",
        "projects": 1,
        "invested_yuan": "2000000.00",
        "signed_on": "2026-01-05",
    }
    assert filed["totals"]["invested_yuan"] == "2150010.00"
    text = json.dumps(filed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical(filed) == text
    assert sha256(filed) == hashlib.sha256(text).hexdigest()
    assert digests(filing([reordered])) == digests([filed]) == {"progress": sha256(filed)}


def test_the_hash_survives_a_round_trip_through_stored_json() -> None:
    filed = filing([progress(FILED)])
    # jsonb keeps neither key order nor spacing: what is read back is the same content
    stored = json.loads(json.dumps([{k: v for k, v in reversed(f.items())} for f in filed], indent=2))
    assert digests(stored) == digests(filed)


def test_any_change_of_a_cell_changes_the_hash() -> None:
    before = digests(filing([progress(FILED)]))["progress"]
    after = digests(filing([progress([*FILED[:2], row("丙村", 1, "10.01")])]))["progress"]
    assert before != after


def test_a_filing_holds_no_float_and_names_each_table_once() -> None:
    with pytest.raises(TypeError, match="float"):
        form(progress([{**FILED[0], "invested_yuan": 2000000.0}]))
    with pytest.raises(ValueError, match="once"):
        filing([progress(FILED), progress(FILED)])


# -- comparison ---------------------------------------------------------------------------------


def test_an_unchanged_table_is_marked_unchanged() -> None:
    filed = form(progress(FILED))
    again = form(
        progress(
            [{**r, "invested_yuan": Decimal(r["invested_yuan"]).quantize(Decimal("0.001"))} for r in FILED]
        )
    )
    result = compare(filed, again)
    assert result["status"] == "unchanged"
    assert [r["status"] for r in result["rows"]] == ["unchanged"] * 3
    assert result["totals"]["status"] == "unchanged"
    assert result["counts"] == {"unchanged": 3, "changed": 0, "added": 0, "removed": 0}


def test_changed_added_and_removed_rows_and_totals_are_marked() -> None:
    corrected_rows = [
        row("甲村", 1, "2300000.00", date(2026, 1, 5)),  # a late tranche of 300000
        row("丙村", 1, "10.00"),
        row("丁村", 3, "5000.00"),  # new
    ]  # 乙村 gone
    filed, corrected = form(progress(FILED)), form(progress(corrected_rows))
    result = compare(filed, corrected)

    assert result["status"] == "changed"
    assert result["key"] == ["village"]
    assert result["filed_sha256"] == sha256(filed) and result["corrected_sha256"] == sha256(corrected)
    by_village = {r["key"]["village"]: r for r in result["rows"]}
    assert {v: r["status"] for v, r in by_village.items()} == {
        "甲村": "changed",
        "乙村": "removed",
        "丙村": "unchanged",
        "丁村": "added",
    }
    # the removed row stays where it was filed, after the row it followed
    assert [r["key"]["village"] for r in result["rows"]] == ["甲村", "乙村", "丙村", "丁村"]
    assert by_village["甲村"]["cells"] == [
        {
            "column": "invested_yuan",
            "filed": "2000000.00",
            "corrected": "2300000.00",
            "difference": "300000.00",
        }
    ]
    assert by_village["乙村"]["filed"] == filed["rows"][1] and by_village["乙村"]["corrected"] is None
    assert by_village["丁村"]["filed"] is None and by_village["丁村"]["corrected"] == corrected["rows"][2]
    assert result["counts"] == {"unchanged": 1, "changed": 1, "added": 1, "removed": 1}

    totals = result["totals"]
    assert totals["status"] == "changed"
    filed_total = sum(Decimal(r["invested_yuan"]) for r in FILED)
    corrected_total = sum(Decimal(r["invested_yuan"]) for r in corrected_rows)
    filed_projects = sum(r["projects"] for r in FILED)
    corrected_projects = sum(r["projects"] for r in corrected_rows)
    assert totals["cells"] == [
        {
            "column": "projects",
            "filed": filed_projects,
            "corrected": corrected_projects,
            "difference": corrected_projects - filed_projects,
        },
        {
            "column": "invested_yuan",
            "filed": str(filed_total),
            "corrected": str(corrected_total),
            "difference": str(corrected_total - filed_total),
        },
    ]


def test_a_declared_key_and_repeated_keys_match_rows() -> None:
    columns = (Column("township", "镇"), Column("pathway", "帮扶路径"), Column("count", "数量", Kind.integer))
    filed = form(
        progress(
            [
                {"township": "一镇", "pathway": "产业", "count": 1},
                {"township": "一镇", "pathway": "就业", "count": 2},
            ],
            columns=columns,
        )
    )
    corrected = form(
        progress(
            [
                {"township": "一镇", "pathway": "就业", "count": 2},
                {"township": "一镇", "pathway": "产业", "count": 4},
            ],
            columns=columns,
        )
    )
    by_pair = compare(filed, corrected, key=["township", "pathway"])
    assert [(r["key"]["pathway"], r["status"]) for r in by_pair["rows"]] == [
        ("就业", "unchanged"),
        ("产业", "changed"),
    ]
    assert by_pair["rows"][1]["cells"] == [{"column": "count", "filed": 1, "corrected": 4, "difference": 3}]
    assert compare({**filed, "key": ["township", "pathway"]}, corrected)["key"] == ["township", "pathway"]

    # by the first column alone, 一镇 occurs twice: the n-th filed is set beside the n-th corrected
    by_first = compare(filed, corrected)
    assert [r["status"] for r in by_first["rows"]] == ["changed", "changed"]
    assert by_first["rows"][0]["cells"][0] == {"column": "pathway", "filed": "产业", "corrected": "就业"}


def test_a_table_filed_but_gone_or_new_since_is_wholly_removed_or_added() -> None:
    filed = filing([progress(FILED)])
    corrected = filing([progress(FILED, name="statistics")])
    result = compare_filing(filed, corrected)
    assert [(r["name"], r["status"]) for r in result] == [("progress", "removed"), ("statistics", "added")]
    assert {r["status"] for r in result[0]["rows"]} == {"removed"}
    assert {r["status"] for r in result[1]["rows"]} == {"added"}
    assert result[0]["totals"]["status"] == "removed" and result[1]["totals"]["status"] == "added"


# -- a filing of registered tables, with a late entry ---------------------------------------------

CLOSED_AT = datetime(2026, 6, 15, 4, tzinfo=UTC)


@pytest.fixture
def invested_table() -> Iterator[str]:
    with invested_in_period_table("test-filing-invested") as name:
        yield name


def investment(amount: str, invested_on: date, recorded_at: datetime) -> Investment:
    return Investment(
        project_id=uuid.UUID(int=1),
        village_code="150602001001",
        tranche=1,
        source="enterprise",
        amount_yuan=Decimal(amount),
        invested_on=invested_on,
        recorded_at=recorded_at,
    )


def test_a_late_entry_leaves_the_filing_and_shows_as_a_difference(invested_table: str) -> None:
    on_time = investment("2000000.00", date(2026, 1, 5), datetime(2026, 1, 5, 4, tzinfo=UTC))
    late = investment("300000.00", date(2026, 6, 10), datetime(2026, 7, 10, 4, tzinfo=UTC))
    h1 = Options(HalfYear(2026, 1))
    at_closing = Facts(region="150602", as_of=CLOSED_AT, today=date(2026, 6, 15), investments=(on_time,))
    filed = [t for t in filing(build_all(at_closing, h1, filed_only=True)) if t["name"] == invested_table]

    closings = {("150602", "2026H1"): CLOSED_AT}
    later = Facts(
        region="150602",
        as_of=late.recorded_at,
        today=date(2026, 7, 10),
        investments=(on_time, late),
        closings=closings,
    )
    (as_filed_now,) = [
        t for t in filing(build_all(later, h1, filed_only=True)) if t["name"] == invested_table
    ]
    assert digests([as_filed_now]) == digests(filed)  # the closed period is not rewritten
    (next_period,) = [
        t for t in filing(build_all(later, Options(HalfYear(2026, 2)))) if t["name"] == invested_table
    ]
    assert next_period["rows"] == [{"village": "150602001001", "invested_yuan": "300000.00"}]

    reopened = dataclasses.replace(later, closings={})
    (corrected,) = [
        t for t in filing(build_all(reopened, h1, filed_only=True)) if t["name"] == invested_table
    ]
    (result,) = compare_filing(filed, [corrected])
    assert result["status"] == "changed"
    assert result["rows"][0]["cells"] == [
        {
            "column": "invested_yuan",
            "filed": "2000000.00",
            "corrected": "2300000.00",
            "difference": "300000.00",
        }
    ]
