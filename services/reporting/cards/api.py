"""``/cards``: the supervision cards of a region as of a moment, a subject's card history, and a
check run now."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, Field
from sqlalchemy import text

from services.reporting.cards.board import board
from services.reporting.cards.judge import CardCheck, judge_cards
from services.reporting.facts.load import load_facts
from services.reporting.tables_api import moment
from shared.auth import Principal, Role, allow, authenticate, ensure_covers
from shared.events.catalogue.reporting import Card, CardSubject
from shared.http.listing import Listing, scope
from shared.http.problems import Problem, problem_responses
from shared.service import command_context, runtime_of

router = APIRouter(tags=["cards"])

Reader = Annotated[Principal, Depends(authenticate)]
Checker = Annotated[Principal, Depends(allow(Role.county_officer, Role.platform))]

_VILLAGE_OF = {
    CardSubject.agreement: text("SELECT village_code FROM ledger_agreements WHERE agreement_id = :id"),
    CardSubject.project: text("SELECT village_code FROM ledger_projects WHERE project_id = :id"),
}
_HISTORY = text(
    """
    SELECT event_id, card, previous, reasons, judged_on, version, recorded_at FROM card_history
    WHERE subject = :subject AND subject_id = :id ORDER BY version
    """
)


class CardQuery(Listing):
    card: Card | None = Field(default=None, description="Only this colour")
    subject: CardSubject | None = Field(default=None, description="Only agreements or only projects")
    as_of: date | AwareDatetime | None = Field(
        default=None,
        description="The cards as published by then: a date (to the end of that day, China time) or a "
        "moment; default now",
    )


@router.get("/cards", summary="The supervision cards of a region (红黄绿牌)")
async def list_cards(
    request: Request, principal: Reader, query: Annotated[CardQuery, Query()]
) -> dict[str, Any]:
    """Every agreement and project in the region with its card as last published by ``as_of``
    (red first, then yellow, then green). A subject never carded is green, ``since`` null."""
    region = scope(principal, query.region)
    runtime = runtime_of(request)
    facts = await load_facts(
        runtime.engine, region, moment(query.as_of, runtime.clock.now()), households=False
    )
    rows = [
        r
        for r in board(facts)
        if (query.card is None or r.card is query.card)
        and (query.subject is None or r.subject is query.subject)
    ]
    return {
        "items": [r.as_json() for r in rows[query.offset : query.offset + query.page_size]],
        "page": query.page,
        "page_size": query.page_size,
        "total": len(rows),
        "region": region,
        "as_of": facts.as_of.isoformat(),
    }


@router.get(
    "/cards/{subject}/{subject_id}/history",
    summary="Every change of a subject's card",
    responses=problem_responses({403: "Outside your region", 404: "No such agreement or project"}),
)
async def card_history(
    request: Request, principal: Reader, subject: CardSubject, subject_id: uuid.UUID
) -> dict[str, Any]:
    """The ``reporting.supervision_card_changed`` events of one agreement or project, oldest first
    (empty for a subject that has always been green)."""
    async with runtime_of(request).engine.connect() as conn:
        village_code = (await conn.execute(_VILLAGE_OF[subject], {"id": subject_id})).scalar()
        if village_code is None:
            raise Problem(404, f"No such {subject.value}", f"no {subject.value} {subject_id} in the ledger")
        ensure_covers(principal, village_code)
        rows = (await conn.execute(_HISTORY, {"subject": subject.value, "id": subject_id})).mappings().all()
    return {
        "subject": subject.value,
        "subject_id": str(subject_id),
        "village_code": village_code,
        "items": [
            {
                "event_id": str(r["event_id"]),
                "card": r["card"],
                "previous": r["previous"],
                "reasons": r["reasons"] if isinstance(r["reasons"], list) else json.loads(r["reasons"]),
                "judged_on": r["judged_on"].isoformat(),
                "version": r["version"],
                "recorded_at": r["recorded_at"].isoformat(),
            }
            for r in rows
        ],
    }


@router.post(
    "/cards/check",
    response_model=CardCheck,
    summary="Judge the cards now",
    responses=problem_responses({403: "Role not allowed"}),
)
async def check_cards(request: Request, principal: Checker) -> CardCheck:
    """Apply the card rules now to every agreement and project in the caller's region, instead of
    waiting for the judge (every ``XINGCUN_CARD_CHECK_INTERVAL_S`` seconds), and publish each change
    once (reporting.supervision_card_changed). Answers this run's changes: a second run right after
    answers none."""
    ctx = command_context(request, principal)
    return await judge_cards(
        runtime_of(request), region=principal.region, actor=ctx.actor, correlation_id=ctx.correlation_id
    )
