"""``GET /dashboard`` (the page), ``GET /dashboard/static/{file}`` (its ES modules and CSS) and
``GET /dashboard/summary`` (what it draws, as JSON).

The page and its files hold no data and need no token; the page sends the bearer token (from the
URL fragment, kept in sessionStorage) with every API call. Static files are served by a route of
this router rather than a mount, so that including the router is all the wiring there is.
"""

from __future__ import annotations

import re
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from services.reporting import tables_api
from services.reporting.dashboard.summary import summary
from services.reporting.export_api import ExportQuery
from shared.auth import Principal, authenticate
from shared.http.problems import Problem

router = APIRouter(tags=["dashboard"])

STATIC = FilePath(__file__).parent / "static"
_FILE = r"^[a-z0-9_-]{1,60}\.(js|css|svg)$"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Only this origin's scripts and styles: the page renders names entered by others.
_PAGE_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cache-control": "no-cache",
}


@router.get(
    "/dashboard", summary="The dashboard page (HTML); the token goes in #token=…", include_in_schema=False
)
async def page() -> Response:
    return Response(
        (STATIC / "index.html").read_bytes(), media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS
    )


@router.get("/dashboard/static/{file}", include_in_schema=False)
async def static(file: Annotated[str, Path(pattern=_FILE)]) -> Response:
    path = STATIC / file
    if not re.match(_FILE, file) or not path.is_file():
        raise Problem(404, "No such file", f"the dashboard has no file {file!r}")
    headers = {"x-content-type-options": "nosniff", "cache-control": "no-cache"}
    return Response(path.read_bytes(), media_type=_TYPES[path.suffix], headers=headers)


@router.get("/dashboard/summary", summary="The region's key figures, sub-regions, monitoring and cards")
async def get_summary(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    query: Annotated[ExportQuery, Query()],
) -> dict[str, Any]:
    facts = await tables_api.facts_for(request, principal, query.table_query())
    options = tables_api.options_for(request, facts, query.period)
    return {
        **summary(facts),
        "scope": principal.region,  # the highest the breadcrumb goes for this caller
        "as_of": facts.as_of.isoformat(),
        "today": facts.today.isoformat(),
        "period": options.period.name,
    }
