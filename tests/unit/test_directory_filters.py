"""The directory's filters: text patterns with literal wildcards, paging, refusals."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.pairing.directory.queries import AgreementFilters, EnterpriseFilters, contains


@pytest.mark.parametrize(
    ("q", "pattern"),
    [
        ("绿源", "%绿源%"),
        ("50%", "%50\\%%"),
        ("a_b", "%a\\_b%"),
        ("c:\\d", "%c:\\\\d%"),
        (None, None),
    ],
)
def test_text_search_takes_wildcards_literally(q: str | None, pattern: str | None) -> None:
    assert contains(q) == pattern


def test_paging_defaults_and_offset() -> None:
    filters = EnterpriseFilters()
    assert (filters.page, filters.page_size, filters.offset) == (1, 20, 0)
    assert EnterpriseFilters(page=3, page_size=50).offset == 100


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"page_size": 201}, "page_size"),
        ({"page": 0}, "page"),
        ({"region": ""}, "region"),
        ({"status": "paused"}, "status"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_values_name_their_field(values: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        AgreementFilters.model_validate(values)
    assert [e["loc"] for e in refused.value.errors()] == [(field,)]
