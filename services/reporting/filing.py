"""A period's filing (报送) and what changed since: each table in one canonical JSON form, its
SHA-256, and a table as filed set beside the same table as corrected, cell by cell.

Pure: no I/O. The JSON form is what is stored, what ``GET /periods/{county}/{period}`` answers and
what the hash is taken of, so anyone can check a filed table against the hash in
``reporting.period_closed``: money and percentages are decimal strings (never floats), dates ISO
strings; the canonical text sorts keys and has no spaces, so the hash survives a round trip
through ``jsonb``, which keeps neither key order nor spacing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from services.reporting.tables.table import Kind, Table

Form = dict[str, Any]  # a table in its JSON form (Table.as_json with plain JSON values)
Status = Literal["unchanged", "changed", "added", "removed"]


def form(table: Table) -> Form:
    """The table as plain JSON values."""
    return table.as_json()


def canonical(value: Any) -> bytes:
    """One text for one content: sorted keys, no spaces, UTF-8 (Chinese headers kept as is)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(table_form: Form) -> str:
    return hashlib.sha256(canonical(table_form)).hexdigest()


def filing(tables: Sequence[Table]) -> list[Form]:
    """The tables of a filing, in their order, each in its JSON form."""
    forms = [form(t) for t in tables]
    names = Counter(f["name"] for f in forms)
    if doubled := [n for n, count in names.items() if count > 1]:
        raise ValueError(f"a filing names each table once, not {doubled}")
    return forms


def digests(forms: Sequence[Form]) -> dict[str, str]:
    """Each table's name and the SHA-256 of its canonical JSON (hex): what the event carries."""
    return {f["name"]: sha256(f) for f in forms}


# -- filed beside corrected ---------------------------------------------------------------------


def key_of(*sides: Form | None) -> list[str]:
    """The columns that identify a row: the ``key`` a side declares (the corrected first), else the
    first column (the village, township or indicator a row is about)."""
    present = [side for side in sides if side is not None]
    for side in present:
        if side.get("key"):
            return list(side["key"])
    return [present[0]["columns"][0]["key"]] if present and present[0]["columns"] else []


def compare(filed: Form | None, corrected: Form | None, key: Sequence[str] | None = None) -> Form:
    """One table as filed beside the same table as corrected since.

    Rows are matched by ``key`` (default ``key_of``); a key that occurs more than once is matched
    by its order of occurrence. Each row is marked unchanged, changed, added or removed, and each
    changed cell gives its filed and corrected values (and for numbers the difference). The
    totals row is compared the same way. A table missing on one side is wholly added or removed.
    """
    if filed is None and corrected is None:
        raise ValueError("compare needs the table on at least one side")
    base = corrected if corrected is not None else filed
    assert base is not None
    columns = _columns(filed, corrected)
    kinds = {c["key"]: c["kind"] for c in columns}
    key = list(key) if key is not None else key_of(corrected, filed)
    rows = _rows(filed, corrected, key, kinds)
    totals = _pair(
        filed.get("totals") if filed else None, corrected.get("totals") if corrected else None, kinds
    )
    counts = Counter(r["status"] for r in rows)
    status: Status
    if filed is None:
        status = "added"
    elif corrected is None:
        status = "removed"
    elif (
        counts["unchanged"] == len(rows)
        and totals["status"] == "unchanged"
        and (filed["columns"] == corrected["columns"])
    ):
        status = "unchanged"
    else:
        status = "changed"
    return {
        "name": base["name"],
        "title": base["title"],
        "columns": columns,
        "key": key,
        "status": status,
        "filed_sha256": sha256(filed) if filed is not None else None,
        "corrected_sha256": sha256(corrected) if corrected is not None else None,
        "counts": {s: counts[s] for s in ("unchanged", "changed", "added", "removed")},
        "rows": rows,
        "totals": totals,
    }


def compare_filing(filed: Sequence[Form], corrected: Sequence[Form]) -> list[Form]:
    """Every table of a filing beside its corrected version, in the filing's order; a table filed
    now but not then comes last, as added."""
    now = {f["name"]: f for f in corrected}
    then = {f["name"] for f in filed}
    return [compare(f, now.get(f["name"])) for f in filed] + [
        compare(None, f) for f in corrected if f["name"] not in then
    ]


def _columns(filed: Form | None, corrected: Form | None) -> list[dict[str, Any]]:
    """The corrected table's columns, then any the filed table had and the corrected has not."""
    seen: dict[str, dict[str, Any]] = {}
    for side in (corrected, filed):
        for column in side["columns"] if side else ():
            seen.setdefault(column["key"], column)
    return list(seen.values())


def _keyed(table_form: Form | None, key: Sequence[str]) -> dict[tuple[Any, ...], Mapping[str, Any]]:
    occurrences: Counter[tuple[Any, ...]] = Counter()
    keyed: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for row in table_form["rows"] if table_form else ():
        values = tuple(_hashable(row.get(k)) for k in key)
        keyed[(*values, occurrences[values])] = row
        occurrences[values] += 1
    return keyed


def _rows(
    filed: Form | None, corrected: Form | None, key: Sequence[str], kinds: Mapping[str, str]
) -> list[Form]:
    """In the corrected table's order, each removed row placed after the filed row it followed."""
    before, after = _keyed(filed, key), _keyed(corrected, key)
    filed_order = list(before)
    position = {k: i for i, k in enumerate(filed_order)}
    out: list[Form] = []
    cursor = 0  # filed rows before it have been placed

    def removed_up_to(end: int) -> None:
        nonlocal cursor
        for k in filed_order[cursor:end]:
            if k not in after:
                out.append(_keyed_pair(key, before[k], None, kinds))
        cursor = max(cursor, end)

    for k, row in after.items():
        if k in position:
            removed_up_to(position[k])
        out.append(_keyed_pair(key, before.get(k), row, kinds))
    removed_up_to(len(filed_order))
    return out


def _keyed_pair(
    key: Sequence[str],
    filed: Mapping[str, Any] | None,
    corrected: Mapping[str, Any] | None,
    kinds: Mapping[str, str],
) -> Form:
    shown = corrected if corrected is not None else filed
    assert shown is not None
    return {"key": {c: shown.get(c) for c in key}, **_pair(filed, corrected, kinds)}


def _pair(
    filed: Mapping[str, Any] | None, corrected: Mapping[str, Any] | None, kinds: Mapping[str, str]
) -> Form:
    if filed is None and corrected is None:
        return {"status": "unchanged", "filed": None, "corrected": None, "cells": []}
    status: Status
    cells: list[Form] = []
    if filed is None:
        status = "added"
    elif corrected is None:
        status = "removed"
    else:
        for column in [*kinds, *(k for k in {**filed, **corrected} if k not in kinds)]:
            was, now = filed.get(column), corrected.get(column)
            if not _same(was, now, kinds.get(column)):
                cells.append(_cell(column, was, now, kinds.get(column)))
        status = "changed" if cells else "unchanged"
    return {
        "status": status,
        "filed": dict(filed) if filed is not None else None,
        "corrected": dict(corrected) if corrected is not None else None,
        "cells": cells,
    }


_NUMBERS = {Kind.integer.value, Kind.yuan.value, Kind.percent.value}


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(value) if isinstance(value, int | str) else None
    except InvalidOperation:
        return None


def _same(was: Any, now: Any, kind: str | None) -> bool:
    """Equal values; for a number column, equal numbers ("12.0" is "12.00")."""
    if kind in _NUMBERS and (a := _number(was)) is not None and (b := _number(now)) is not None:
        return a == b
    return bool(was == now)


def _cell(column: str, was: Any, now: Any, kind: str | None) -> Form:
    cell: Form = {"column": column, "filed": was, "corrected": now}
    if kind in _NUMBERS and (a := _number(was)) is not None and (b := _number(now)) is not None:
        difference = b - a
        cell["difference"] = int(difference) if kind == Kind.integer.value else str(difference)
    return cell


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value
