"""Every reporting table by its name: a pure builder from a region's ``Facts`` and the options
of the request (the period, the stage deadlines). Each table module registers its builders with
``@table``; the API, the exports, the period filings and the dashboard all go through ``TABLES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from services.reporting.facts.model import Facts
from services.reporting.periods import HalfYear
from services.reporting.tables.table import Table


@dataclass(frozen=True)
class Options:
    period: HalfYear  # the half-year whose "in the period" figures a table gives
    stage_deadlines: Mapping[str, int] = field(default_factory=dict)  # days, by step (settings)


Builder = Callable[[Facts, Options], Table]


@dataclass(frozen=True)
class Registered:
    name: str
    title: str
    build: Builder
    filed: bool  # part of the half-year filing (进度表, 统计表, …) when a period is closed


TABLES: dict[str, Registered] = {}


def table(name: str, title: str, *, filed: bool = False) -> Callable[[Builder], Builder]:
    def register(build: Builder) -> Builder:
        if name in TABLES:
            raise ValueError(f"table {name!r} is registered twice")
        TABLES[name] = Registered(name, title, build, filed)
        return build

    return register


# The modules whose builders register themselves (imported once, here, in this order).
_MODULES = (
    "services.reporting.tables.pairing",
    "services.reporting.tables.monitoring",
    "services.reporting.tables.coverage",
    "services.reporting.tables.stage_times",
    "services.reporting.tables.indicators",
    "services.reporting.tables.cards",
)
for _module in _MODULES:
    importlib.import_module(_module)


def build_all(facts: Facts, options: Options, *, filed_only: bool = False) -> list[Table]:
    return [r.build(facts, options) for r in TABLES.values() if r.filed or not filed_only]
