"""Read models the monitoring service projects from its own stream (filled in by the query work)."""

from __future__ import annotations

from shared.service import Consumes

PROJECTIONS: dict[str, Consumes] = {}
