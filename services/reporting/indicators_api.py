"""``GET /indicators`` (the indicators of the sheet) and ``PUT /indicators/{code}``: a county
officer enters a value this system cannot compute, or replaces a baseline or target
(``reporting.indicator_entered`` in stream ``indicators-<region_code>``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.reporting.tables.indicators import BY_CODE, INDICATORS
from shared.auth import Principal, Role, allow, authenticate, ensure_covers
from shared.events.catalogue.reporting import IndicatorEntered
from shared.events.envelope import Envelope
from shared.events.registry import decode
from shared.eventstore.context import wrap
from shared.http.problems import Problem, problem_responses
from shared.service import command_context, runtime_of

router = APIRouter(tags=["indicators"])

CountyOfficer = Annotated[Principal, Depends(allow(Role.county_officer))]
Reader = Annotated[Principal, Depends(authenticate)]

_VALUES = ("baseline", "target", "current")
Value = Annotated[Decimal | None, Field(max_digits=16, decimal_places=4)]


class IndicatorDefinition(BaseModel):
    number: int = Field(description="序号 in the plan's table")
    code: str
    name: str
    unit: str
    baseline: str = Field(description="The plan's baseline (2022), unless a county entered another")
    target: str = Field(description="The plan's target (2025), unless a county entered another")
    binding: bool = Field(description="约束性 (true) or 预期性 (false)")
    computed: bool = Field(description="The system computes the current value; else a county enters it")


class IndicatorList(BaseModel):
    items: list[IndicatorDefinition]


class IndicatorValue(BaseModel):
    """A value entered for a region and year. A field left out keeps what was last entered for the
    region, indicator and year; ``null`` clears it (the enclosing region's entry, or the plan's
    value, shows again)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    region_code: str = Field(
        pattern=r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$",
        description="The region the value is for: a province, city, county, township or village code",
    )
    year: int = Field(ge=2000, le=2100)
    baseline: Value = None
    target: Value = None
    current: Value = None
    note: str | None = Field(default=None, max_length=500)

    @field_validator("region_code")
    @classmethod
    def _a_province(cls, value: str) -> str:
        if value.startswith("00"):
            raise ValueError("the first two digits name a province and cannot be 00")
        return value

    @model_validator(mode="after")
    def _something(self) -> IndicatorValue:
        if not self.model_fields_set & set(_VALUES):
            raise ValueError("give at least one of baseline, target, current")
        return self


class IndicatorEntry(BaseModel):
    code: str
    region_code: str
    year: int
    baseline: Decimal | None
    target: Decimal | None
    current: Decimal | None
    note: str | None


@router.get("/indicators", response_model=IndicatorList, summary="The indicators of the indicators sheet")
async def list_indicators(principal: Reader) -> IndicatorList:
    return IndicatorList(
        items=[
            IndicatorDefinition(
                number=i.number,
                code=i.code,
                name=i.name,
                unit=i.unit,
                baseline=i.baseline,
                target=i.target,
                binding=i.binding,
                computed=i.computed,
            )
            for i in INDICATORS
        ]
    )


def _refused(field: str, reason: str) -> Problem:
    return Problem(
        422,
        "Indicator value not enterable",
        reason,
        type_="https://xingcun.example/problems/indicator_not_enterable",
        errors=[{"field": field, "reason": reason}],
        extra={"rule": "indicator_not_enterable"},
    )


@router.put(
    "/indicators/{code}",
    response_model=IndicatorEntry,
    summary="Enter an indicator's value, baseline or target for a region and year",
    responses=problem_responses(
        {
            401: "Missing or invalid token",
            403: "Not a county officer, or the region is outside the caller's",
            404: "No such indicator",
            409: "A concurrent entry for the same region",
            422: "Invalid body, or a value the system computes",
        }
    ),
)
async def enter_indicator(
    request: Request,
    principal: CountyOfficer,
    code: Annotated[str, Path(pattern=r"^[a-z0-9_]{1,60}$")],
    body: IndicatorValue,
) -> IndicatorEntry:
    """Append ``reporting.indicator_entered`` (county officers, for their region or a part of it).

    The current value of a computed indicator cannot be entered (422, field ``current``); nor the
    baseline or target of one given in words (村集体经济收入).
    """
    indicator = BY_CODE.get(code)
    if indicator is None:
        raise Problem(404, "No such indicator", f"no indicator {code!r}; GET /indicators lists them")
    given = body.model_fields_set & set(_VALUES)
    if indicator.computed and "current" in given:
        raise _refused("current", f"the system computes the current value of {code}; it cannot be entered")
    words = sorted(given - {"current"}) if indicator.composite else []
    if words:
        raise _refused(
            words[0], f"the {words[0]} of {code} is given in words and cannot be entered as a number"
        )
    ensure_covers(principal, body.region_code, "region_code")

    stream = f"indicators-{body.region_code}"
    ctx = command_context(request, principal)
    async with runtime_of(request).store.session() as session:
        history = await session.load(stream)
        last = _last_entry(history, code, body.year)
        values = {
            name: getattr(body, name) if name in body.model_fields_set else getattr(last, name, None)
            for name in (*_VALUES, "note")
        }
        event = IndicatorEntered(region_code=body.region_code, indicator=code, year=body.year, **values)
        version = history[-1].stream_version if history else 0
        session.append(version, wrap(ctx, stream, version, body.region_code.ljust(12, "0"), [event]))
    return IndicatorEntry(code=code, region_code=body.region_code, year=body.year, **values)


def _last_entry(history: list[Envelope], code: str, year: int) -> IndicatorEntered | None:
    last = None
    for envelope in history:
        event = decode(envelope)
        if isinstance(event, IndicatorEntered) and event.indicator == code and event.year == year:
            last = event
    return last
