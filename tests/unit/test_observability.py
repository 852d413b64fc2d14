"""Metrics in Prometheus' text format, JSON log lines with the correlation id, and the request
middleware's id and latency, without a server."""

from __future__ import annotations

import json
import logging

import httpx
from fastapi import FastAPI

from shared.observability.correlation import correlated, current_correlation
from shared.observability.http import ObserveRequests
from shared.observability.logs import JsonFormatter
from shared.observability.metrics import Family, LatencyHistogram, render
from shared.runtime.ops import subject_overlap


def test_families_render_in_the_text_format() -> None:
    text = render(
        [
            Family("xingcun_outbox_backlog", "gauge", "Committed events not yet relayed").add(
                3, service="pairing"
            ),
            Family("xingcun_dead_letters", "gauge", "Kept for repair").add(1, consumer='odd "name"\\x'),
        ]
    )
    assert text.splitlines() == [
        "# HELP xingcun_outbox_backlog Committed events not yet relayed",
        "# TYPE xingcun_outbox_backlog gauge",
        'xingcun_outbox_backlog{service="pairing"} 3',
        "# HELP xingcun_dead_letters Kept for repair",
        "# TYPE xingcun_dead_letters gauge",
        'xingcun_dead_letters{consumer="odd \\"name\\"\\\\x"} 1',
    ]


def test_a_histogram_counts_cumulatively_with_sum_and_count() -> None:
    histogram = LatencyHistogram("h", "latency")
    for seconds in (0.004, 0.02, 0.02, 3.0, 60.0):
        histogram.observe(seconds, route="/villages", status="201")
    samples = {(s, labels.get("le")): v for s, labels, v in histogram.family().samples}
    assert samples[("_bucket", "0.005")] == 1
    assert samples[("_bucket", "0.025")] == 3
    assert samples[("_bucket", "2.5")] == 3
    assert samples[("_bucket", "5")] == 4
    assert samples[("_bucket", "+Inf")] == 5 == samples[("_count", None)]
    assert abs(samples[("_sum", None)] - 63.044) < 1e-9


def test_a_json_log_line_carries_the_correlation_id_and_fields() -> None:
    formatter = JsonFormatter("pairing")
    record = logging.LogRecord("xingcun.http", logging.INFO, __file__, 1, "POST %s", ("/villages",), None)
    record.fields = {"status": 201}
    with correlated("req-42"):
        line = json.loads(formatter.format(record))
    assert line["message"] == "POST /villages" and line["service"] == "pairing"
    assert line["correlation_id"] == "req-42" and line["status"] == 201 and line["level"] == "info"
    assert "correlation_id" not in json.loads(formatter.format(record))  # outside the request


async def test_a_request_keeps_the_callers_correlation_id_or_gets_one() -> None:
    app = FastAPI()
    seen: list[str | None] = []

    @app.get("/villages/{code}")
    async def village(code: str) -> dict[str, str]:
        seen.append(current_correlation())
        return {"code": code}

    histogram = LatencyHistogram("h", "latency")
    app.add_middleware(ObserveRequests, histogram=histogram)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        given = await client.get("/villages/1", headers={"x-correlation-id": "from-the-caller"})
        made = await client.get("/villages/2")
        odd = await client.get("/villages/3", headers={"x-correlation-id": "x" * 500})
        await client.get("/nowhere")
    assert given.headers["x-correlation-id"] == "from-the-caller" == seen[0]
    assert made.headers["x-correlation-id"] == seen[1] and len(seen[1] or "") == 36
    assert odd.headers["x-correlation-id"] == seen[2] != "x" * 500
    routes = {
        (labels["route"], labels["status"]) for s, labels, _ in histogram.family().samples if s == "_count"
    }
    assert routes == {("/villages/{code}", "200"), ("unmatched", "404")}


def test_a_tail_reads_each_stream_within_its_subjects() -> None:
    pairing = "xingcun.*.*.*.pairing.>"
    assert subject_overlap("xingcun.15.1506.150602.>", pairing) == "xingcun.15.1506.150602.pairing.>"
    assert subject_overlap("xingcun.*.*.*.monitoring.>", pairing) is None
    assert subject_overlap("xingcun.>", pairing) == pairing
    assert subject_overlap(">", pairing) == pairing
    one = "xingcun.15.*.*.pairing.agreement_signed"
    assert subject_overlap(one, pairing) == one
    assert subject_overlap("xingcun.15.1506", pairing) is None  # too short to be an event's
    assert subject_overlap("other.>", pairing) is None
