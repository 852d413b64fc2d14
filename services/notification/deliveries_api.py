"""The delivery log: what was told to whom, on which channel, and how it went (``/deliveries``).

Every role reads the deliveries of events in its region. County officers and the platform may
resend a failed one (after fixing an address, or when a send was interrupted): the same delivery
id, so a receiver that already has it can drop it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from services.notification import queries
from services.notification.queries import DeliveryFilters, DeliveryStatus
from services.notification.queue import DeliveryQueue
from shared.auth import Principal, Role, allow, authenticate, ensure_covers
from shared.events.catalogue.notification import ChannelKind, FailureKind
from shared.http.listing import Paged, paged, scope
from shared.http.problems import Problem, problem_responses
from shared.service import runtime_of

router = APIRouter(tags=["deliveries"])

Editor = Annotated[Principal, Depends(allow(Role.county_officer, Role.platform))]
Reader = Annotated[Principal, Depends(authenticate)]

_READ_PROBLEMS = problem_responses(
    {401: "Missing or refused bearer token", 403: "Outside the caller's region", 422: "Invalid parameter"}
)


class TryView(BaseModel):
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None = None  # delivered, retry, exhausted, refused, interrupted; None: under way
    error: str | None


class DeliveryView(BaseModel):
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    region_code: str
    recipient_id: uuid.UUID
    recipient_name: str
    channel: ChannelKind
    address: str
    status: DeliveryStatus
    attempts: int
    failure: FailureKind | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    finished_at: datetime | None


class DeliveryDetail(DeliveryView):
    tries: list[TryView]


class DeliveryPage(Paged):
    items: list[DeliveryView]


@router.get(
    "/deliveries",
    response_model=DeliveryPage,
    summary="The delivery log: by recipient, event, status, channel and time",
    responses=_READ_PROBLEMS,
)
async def list_deliveries(
    request: Request, principal: Reader, filters: Annotated[DeliveryFilters, Query()]
) -> dict[str, Any]:
    """Deliveries of events in ``region`` (default: the caller's), newest first. ``since`` and
    ``until`` bound the time the delivery was routed."""
    region = scope(principal, filters.region)
    return paged(filters, await queries.deliveries(runtime_of(request).engine, filters, region))


async def _found(request: Request, principal: Principal, delivery_id: uuid.UUID) -> dict[str, Any]:
    found = await queries.delivery(runtime_of(request).engine, delivery_id)
    if found is None:
        raise Problem(404, "Delivery not found", f"no delivery {delivery_id}")
    ensure_covers(principal, found["region_code"])
    return found


@router.get(
    "/deliveries/{delivery_id}",
    response_model=DeliveryDetail,
    summary="One delivery, with each of its tries",
    responses={**_READ_PROBLEMS, **problem_responses({404: "No such delivery"})},
)
async def get_delivery(request: Request, principal: Reader, delivery_id: uuid.UUID) -> dict[str, Any]:
    return await _found(request, principal, delivery_id)


@router.post(
    "/deliveries/{delivery_id}/resend",
    status_code=202,
    response_model=DeliveryView,
    summary="Try a failed delivery again",
    responses={
        **problem_responses(
            {
                401: "Missing or refused bearer token",
                403: "Not a county officer or the platform, or outside the caller's region",
                404: "No such delivery",
                409: "The delivery has not failed (it is delivered, or still being tried)",
            }
        )
    },
)
async def resend(request: Request, principal: Editor, delivery_id: uuid.UUID) -> dict[str, Any]:
    """Puts a failed delivery back in the queue with a fresh count of tries, to the address it was
    routed to; its next outcome publishes another ``notification_delivered`` or
    ``notification_failed``."""
    found = await _found(request, principal, delivery_id)
    runtime = runtime_of(request)
    if not await DeliveryQueue(runtime.store).resend(delivery_id):
        raise Problem(409, "Not failed", f"delivery {delivery_id} is {found['status']}, not failed")
    request.app.state.wake_dispatcher()
    return await _found(request, principal, delivery_id)
