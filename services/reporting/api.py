"""The reporting service's HTTP API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from services.reporting.queries import village_ledger
from shared.auth import Principal, authenticate, ensure_covers
from shared.http.problems import Problem
from shared.service import runtime_of

router = APIRouter(tags=["ledgers"])


@router.get("/ledgers/villages/{village_code}")
async def get_village_ledger(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    village_code: Annotated[str, Path(pattern=r"^\d{12}$", description="12-digit division code")],
) -> dict[str, Any]:
    """A village's ledger (村级台账): the village, its agreements with their enterprises, and totals."""
    ensure_covers(principal, village_code)
    ledger = await village_ledger(runtime_of(request).engine, village_code)
    if ledger is None:
        raise Problem(404, "Village not in the ledger", f"no village {village_code} has been registered")
    return ledger
