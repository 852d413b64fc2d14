"""The pairing directory: lists of enterprises, villages, agreements, projects and cooperatives,
projected from the pairing service's own stream (filled in by the directory work)."""

from __future__ import annotations

from shared.service import Consumes

PROJECTIONS: dict[str, Consumes] = {}
