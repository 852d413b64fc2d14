"""Finding a layout's columns in a file's header row (the same rules for every import)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Protocol, TypeVar

from shared.tabular.reader import FileKind, FileProblem
from shared.tabular.report import RowError


class Named(Protocol):
    @property
    def header(self) -> str: ...

    @property
    def required(self) -> bool: ...


C = TypeVar("C", bound=Named)


def normalise_header(text: str) -> str:
    """Full-width and half-width spellings, and stray spaces, name the same column."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def by_header(columns: Sequence[C]) -> dict[str, C]:
    return {normalise_header(c.header): c for c in columns}


def columns_at(kind: FileKind, headers: tuple[str, ...], columns: Sequence[C]) -> dict[int, C]:
    """The column at each position; unknown, repeated or missing headers refuse the whole file."""
    known = by_header(columns)
    found: dict[int, C] = {}
    errors: list[RowError] = []
    rule = f"{kind.rule}_layout"
    for position, header in enumerate(headers):
        if not header:
            continue  # a column without a header holds nothing the import reads
        column = known.get(normalise_header(header))
        if column is None:
            reason = f"unknown column; the columns are: {'、'.join(c.header for c in columns)}"
            errors.append(RowError(1, header, header, reason, rule))
        elif column in found.values():
            errors.append(RowError(1, header, header, "this column appears twice", rule))
        else:
            found[position] = column
    for column in columns:
        if column.required and column not in found.values():
            errors.append(RowError(1, column.header, None, "required column missing", rule))
    if errors:
        layout = kind.noun.removeprefix("a ").removesuffix(" file")
        raise FileProblem(
            rule,
            f"the header row (row 1) does not fit the {layout} layout; nothing was imported",
            errors=[e.as_dict() for e in errors],
        )
    return found
