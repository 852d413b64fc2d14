"""The monitoring service's configuration, read once from the settings and checked at start."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from services.monitoring.personal import MasterKeys
from services.monitoring.risk import MonitoringLines, RiskRules
from shared.settings import Settings


@dataclass(frozen=True)
class MonitoringConfig:
    masters: MasterKeys
    lines: MonitoringLines
    rules: RiskRules


def monitoring_config(settings: Settings) -> MonitoringConfig:
    return _config(settings.personal_data_key, _frozen(settings))


def _frozen(settings: Settings) -> str:
    # lru_cache needs a hashable key: the JSON of what the config is made of.
    return json.dumps([settings.monitoring_lines, settings.risk_rules], default=str, sort_keys=True)


@lru_cache(maxsize=8)
def _config(personal_data_key: str, made_of: str) -> MonitoringConfig:
    lines, rules = json.loads(made_of)
    return MonitoringConfig(
        masters=MasterKeys.derive(personal_data_key),
        lines=MonitoringLines(by_province=lines),
        rules=RiskRules(**rules),
    )
