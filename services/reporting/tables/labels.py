"""The Chinese names the reporting tables print for the catalogue's enum values.

The pairing catalogue's names are shared.events.labels' (the ledger import uses the same words),
re-exported here: plain mappings, keyed by the enum members (``StrEnum``, so the stored string
values look them up too) in the catalogue's order. The facts' agreement statuses are the tables'
own. ``name_of`` falls back to the raw value for one the mapping lacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shared.events.labels import ENTERPRISE_KINDS as ENTERPRISE_KINDS
from shared.events.labels import FUNDING_SOURCES as FUNDING_SOURCES
from shared.events.labels import LEADING_LEVELS as LEADING_LEVELS
from shared.events.labels import MODES as MODES
from shared.events.labels import PATHWAYS as PATHWAYS
from shared.events.labels import VILLAGE_CATEGORIES as VILLAGE_CATEGORIES

# Agreement.status of the facts (services/reporting/facts/pairing.py sets them).
AGREEMENT_STATUSES: Mapping[str, str] = {
    "active": "在帮",
    "needs_relay": "待接力",
    "relayed": "已接力",
}
YES_NO: Mapping[bool, str] = {True: "是", False: "否"}

SEPARATOR = "、"  # between the names of a list in one cell, as the ledgers write them


def name_of(names: Mapping[str, str], value: str | None) -> str:
    """The Chinese name of ``value``; the value itself when unknown, "" for None."""
    if value is None:
        return ""
    return names.get(value, value)


def names_of(names: Mapping[str, str], values: Iterable[str]) -> str:
    """The Chinese names of ``values`` in the mapping's order, joined with 、."""
    chosen = set(values)
    known = [name for value, name in names.items() if value in chosen]
    unknown = sorted(chosen - set(names))
    return SEPARATOR.join(known + unknown)
