"""The Chinese names the monitoring tables print.

The catalogue's enum values are named as shared.events.labels names them (the provincial
platform's exchange layout uses the same words), re-exported here under this module's names;
the steps of the enrolment procedure are the tables' own.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.events import labels

CATEGORIES = labels.MONITORED_CATEGORIES
RISKS = labels.RISK_TYPES
STAGES = labels.STAGES
SOURCES = labels.FLAG_SOURCES

# The steps of the enrolment procedure whose time the stage-times table gives, keyed as
# ``Options.stage_deadlines`` (settings.stage_deadlines) keys them.
STEPS: Mapping[str, str] = {
    "verification": "入户核实",
    "deliberation": "民主评议公示",
    "township_review": "乡镇审核",
    "county_approval": "县级审定",
    "contact": "明确帮扶责任人",
}
