"""Bearer tokens naming a role and a region (DESIGN §5), and the checks every endpoint makes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from fastapi import Request

from shared.events.envelope import Actor
from shared.http.problems import Problem
from shared.regions import within


class Role(StrEnum):
    village_officer = "village_officer"  # 村级信息员
    township_officer = "township_officer"  # 镇级信息员
    county_officer = "county_officer"  # 县级信息员
    federation_officer = "federation_officer"  # 工商联
    enterprise = "enterprise"
    platform = "platform"  # the provincial platform's system account
    viewer = "viewer"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    region: str  # a division-code prefix; "" is the whole country
    enterprise_id: uuid.UUID | None = None  # an enterprise's own account acts for this enterprise only

    def actor(self) -> Actor:
        return Actor(id=self.subject, role=self.role.value, region_code=self.region)

    def covers(self, region_code: str) -> bool:
        return within(region_code, self.region)


_ALGORITHM = "HS256"


def issue_token(
    secret: bytes,
    *,
    subject: str,
    role: Role,
    region: str,
    now: datetime,
    ttl: timedelta,
    enterprise_id: uuid.UUID | None = None,
) -> str:
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role.value,
        "region": region,
        "iat": now,
        "exp": now + ttl,
    }
    if enterprise_id is not None:
        claims["enterprise_id"] = str(enterprise_id)
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_token(secret: bytes, token: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]})
        enterprise = claims.get("enterprise_id")
        return Principal(
            subject=claims["sub"],
            role=Role(claims["role"]),
            region=claims["region"],
            enterprise_id=uuid.UUID(enterprise) if enterprise else None,
        )
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise Problem(401, "Invalid token", f"the bearer token was refused: {exc}") from None


def authenticate(request: Request) -> Principal:
    """FastAPI dependency: the caller named by the request's bearer token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "Missing token", "send 'Authorization: Bearer <token>' (xingcun token)")
    return verify_token(request.app.state.settings.secret_bytes, token.strip())


def allow(*roles: Role) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """FastAPI dependency: the caller, if it holds one of ``roles``; 403 otherwise."""

    async def check(request: Request) -> Principal:
        principal = authenticate(request)
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Problem(403, "Role not allowed", f"this needs one of: {allowed}")
        return principal

    return check


def ensure_covers(principal: Principal, region_code: str, field: str | None = None) -> None:
    if not principal.covers(region_code):
        raise Problem(
            403,
            "Outside your region",
            f"{region_code} is outside region '{principal.region}' of this token",
            errors=[{"field": field, "reason": "outside the caller's region"}] if field else None,
        )
