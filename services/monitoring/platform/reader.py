"""The survey batch file, read by the shared reader (shared/tabular) with the platform's limits:
a provincial batch is a county's households, 100,000 rows and more."""

from __future__ import annotations

from shared.tabular import reader as _tabular
from shared.tabular.reader import XLSX_TYPE, Cell, FileKind, FileProblem, Format, Row, Sheet

__all__ = ["SURVEY", "XLSX_TYPE", "Cell", "FileProblem", "Format", "Row", "Sheet", "detect", "read"]

SURVEY = FileKind(
    rule="survey",
    noun="a survey batch file",
    part="the batch file",
    title="Survey batch",
    max_rows=200_000,  # twice the largest county batch expected
    max_columns=32,  # the layout has 15
    max_bytes=64 * 1024 * 1024,  # 200,000 rows of the layout are about 30 MB as CSV
)


def detect(filename: str, content_type: str, head: bytes) -> Format:
    return _tabular.detect(SURVEY, filename, content_type, head)


def read(data: bytes, fmt: Format) -> Sheet:
    return _tabular.read(SURVEY, data, fmt)
