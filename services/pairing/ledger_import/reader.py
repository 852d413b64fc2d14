"""The ledger file, read by the shared reader (shared/tabular) with the ledger's limits."""

from __future__ import annotations

from shared.tabular import reader as _tabular
from shared.tabular.reader import XLSX_TYPE, Cell, FileKind, FileProblem, Format, Row, Sheet

__all__ = ["LEDGER", "XLSX_TYPE", "Cell", "FileProblem", "Format", "Row", "Sheet", "detect", "read"]

LEDGER = FileKind(
    rule="ledger",
    noun="a ledger file",
    part="the ledger",
    title="Ledger",
    max_rows=20_000,  # a county's ledger is a few thousand rows
    max_columns=64,  # the layout has 23
    max_bytes=20 * 1024 * 1024,
)


def detect(filename: str, content_type: str, head: bytes) -> Format:
    return _tabular.detect(LEDGER, filename, content_type, head)


def read(data: bytes, fmt: Format) -> Sheet:
    return _tabular.read(LEDGER, data, fmt)
