"""The dashboard as a person sees it: headless Chromium opens the page of a real reporting service
(uvicorn in a child process) fed by the pairing and monitoring APIs, runs its scripts, and shows
the figures that were entered, the Chinese labels, the charts and a drill-down to a township."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.monitoring.app import create as monitoring_app
from services.pairing.app import create as pairing_app
from services.reporting.tables.table import percent
from shared.auth import Role
from shared.clock import FixedClock, china_date
from shared.settings import Settings
from tests.support.apps import ServiceProcess, running, token, wait_until
from tests.support.desk import COUNTY, Desk, noon_in_china
from tests.support.pairing import agreement_body, credit_code, enterprise_body, village_body, village_code
from tests.support.projects import Paired, project_body, tranche

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"),
]

VILLAGES = (1, 2, 1000)  # village 1000 lies in a second township
OTHER_TOWNSHIP = village_code(1000)[:9]
TOWNSHIP = village_code(1)[:9]
TRANCHES = ("2000000.00", "345678.90")


@contextlib.asynccontextmanager
async def reporting_process(settings: Settings, log_dir: Path) -> AsyncIterator[ServiceProcess]:
    process = ServiceProcess("reporting", settings, log_dir)
    try:
        yield await process.start()
    finally:
        process.stop()


async def test_dashboard_shows_the_entered_figures(settings: Settings, tmp_path: Path) -> None:
    # Everything happens in the recent past: the child's system clock must see it as done.
    clock = FixedClock(noon_in_china(china_date(datetime.now(UTC)) - timedelta(days=30)))
    officer = token(settings, Role.federation_officer, COUNTY)
    monitoring, pairing = monitoring_app(settings, clock), pairing_app(settings, clock)
    async with (
        reporting_process(settings, tmp_path) as reporting,
        running(pairing) as pclient,
        running(monitoring) as mclient,
    ):
        entered = await _enter_pairing(pclient, officer, clock)
        entered.update(await _enter_monitoring(Desk(monitoring, mclient, clock, settings), pclient, officer))

        bearer = token(settings, Role.county_officer, COUNTY)["authorization"].removeprefix("Bearer ")
        await _until_reported(reporting.url, bearer, entered)

        home = await _dom(
            f"{reporting.url}/dashboard?region={COUNTY}#token={bearer}", tmp_path / "dom-county"
        )
        assert 'data-state="ready"' in home, home[-2000:]
        text = _text(home)
        for label, value in (
            ("帮扶村数", str(len(VILLAGES))),
            ("参与企业", "2"),
            ("在帮协议", str(len(VILLAGES))),
            ("帮扶项目", "1"),
            ("已到位投资", f"{entered['invested']:,.2f}"),
            ("监测户", str(entered["monitored"])),
            ("双绑覆盖率", f"{entered['coverage']:.1f}%"),
        ):
            assert re.search(rf"{label}\s*{re.escape(value)}", text), (
                f"{label} {value} not on the page: {text}"
            )
        for label in ("兴村帮扶数据驾驶舱", "双绑覆盖率", "监测对象", "红黄绿牌督办", "红牌", "黄牌", "绿牌"):
            assert label in text
        cards = re.search(r"红牌\s*(\d+)\s*黄牌\s*(\d+)\s*绿牌\s*(\d+)", text)
        assert cards, text
        assert sum(map(int, cards.groups())) == len(VILLAGES) + 1  # each agreement and the project
        assert "监测帮扶中" in text and "待入户核实" in text and "脱贫不稳定户" in text  # the chart's labels
        assert f'href="/dashboard?region={TOWNSHIP}"' in home  # drill-down to each township
        assert f'href="/dashboard?region={OTHER_TOWNSHIP}"' in home
        assert "#token" not in home and bearer not in home

        township = await _dom(
            f"{reporting.url}/dashboard?region={TOWNSHIP}#token={bearer}", tmp_path / "dom-town"
        )
        town_text = _text(township)
        assert re.search(
            rf"帮扶村数\s*{len([n for n in VILLAGES if village_code(n)[:9] == TOWNSHIP])}\b", town_text
        )
        assert "村1" in town_text and "村2" in town_text
        assert f'href="/dashboard?region={COUNTY}"' in township  # the breadcrumb back up
        assert f'href="/dashboard?region={village_code(1)}"' in township  # and on down to a village

        listed = await _get(reporting.url, "/tables", bearer)
        name = listed["items"][0]["name"]
        table = await _get(reporting.url, f"/tables/{name}", bearer, region=COUNTY, page_size=5000)
        opened = await _dom(
            f"{reporting.url}/dashboard?region={COUNTY}&table={name}#token={bearer}", tmp_path / "t"
        )
        shown = _text(opened)
        assert table["title"] in shown and all(c["header"] in shown for c in table["columns"])
        assert len(re.findall(r"<tr", opened.split(table["title"])[-1])) >= 1 + len(table["rows"])

        png = await _screenshot(
            f"{reporting.url}/dashboard?region={COUNTY}#token={bearer}",
            tmp_path / "shot",
            tmp_path / "county.png",
        )
        width, height, pixels = _decode_png(png)
        assert (width, height) == (1280, 1400)
        colours = {pixels[i] for i in range(0, len(pixels), 7)}
        assert len(colours) > 20, "the screenshot is (nearly) blank"
        for name, rgb in (("header", (0x10, 0x2A, 0x43)), ("monitoring bar", (0xC6, 0x28, 0x28))):
            assert any(_near(c, rgb) for c in colours), f"no {name} colour in the screenshot"


async def _enter_pairing(
    client: httpx.AsyncClient, officer: dict[str, str], clock: FixedClock
) -> dict[str, Any]:
    day = china_date(clock.now()).isoformat()
    enterprises = [await _created(client, "/enterprises", enterprise_body(n), officer) for n in (1, 2)]
    agreements = []
    for i, n in enumerate(VILLAGES):
        await _created(client, "/villages", village_body(n), officer)
        body = agreement_body(enterprises[i % 2], village_code(n), signed_on=day)
        agreements.append(await _created(client, "/agreements", body, officer))
    paired = Paired(enterprises, agreements[0], agreements[1])
    project = await _created(client, "/projects", project_body(paired), officer)
    for amount in TRANCHES:
        await _created(client, f"/projects/{project}/investments", tranche(amount, day), officer)
    return {"invested": sum((Decimal(t) for t in TRANCHES), Decimal(0))}


async def _enter_monitoring(
    desk: Desk, pairing: httpx.AsyncClient, officer: dict[str, str]
) -> dict[str, Any]:
    """Two monitored households and one still flagged (all former-poor, with labourers); one bound."""
    enrolled = [await desk.register(n) for n in (1, 2)]
    for household in enrolled:
        await desk.enrol(household)
    flagged = await desk.register(3)
    await desk.flag(flagged)
    cooperative = await _created(
        pairing,
        "/cooperatives",
        {
            "code": credit_code(901),
            "name": "合作社1",
            "village_code": village_code(1),
            "leading_industry": "肉羊养殖",
        },
        officer,
    )
    binding = {
        "kind": "cooperative_household",
        "household_id": enrolled[0],
        "household_village_code": village_code(1),
        "form": "equity",
        "started_on": desk.today.isoformat(),
    }
    await _created(pairing, f"/cooperatives/{cooperative}/bindings", binding, officer)
    coverage = percent(1, 3)
    assert coverage is not None
    return {"monitored": len(enrolled), "households": 3, "coverage": coverage}


async def _created(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> str:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, f"{path}: {response.text}"
    return str(response.json().get("id", ""))


async def _until_reported(url: str, bearer: str, entered: dict[str, Any]) -> None:
    async def reported() -> bool:
        async with httpx.AsyncClient() as client:
            answer = await client.get(
                f"{url}/dashboard/summary",
                params={"region": COUNTY},
                headers={"authorization": f"Bearer {bearer}"},
                timeout=5,
            )
        figures = answer.json()["figures"]
        return (
            Decimal(figures["invested_yuan"]) == entered["invested"]
            and figures["monitored"] == entered["monitored"]
            and figures["bound"] == 1
            and figures["eligible"] == entered["households"]
        )

    await wait_until(reported, 20, "the entered facts in the reporting service", interval=0.2)


async def _get(url: str, path: str, bearer: str, **params: Any) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            f"{url}{path}", params=params, headers={"authorization": f"Bearer {bearer}"}, timeout=10
        )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _chromium(profile: Path, *arguments: str) -> list[str]:
    assert CHROMIUM is not None
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # tests may run as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        "--lang=zh-CN",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",  # let the modules load and the API answer
        *arguments,
    ]


async def _run(command: list[str]) -> bytes:
    result = await asyncio.to_thread(subprocess.run, command, capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    return result.stdout


async def _dom(url: str, profile: Path) -> str:
    return (await _run(_chromium(profile, "--dump-dom", url))).decode()


async def _screenshot(url: str, profile: Path, path: Path) -> bytes:
    await _run(_chromium(profile, f"--screenshot={path}", "--window-size=1280,1400", url))
    return await asyncio.to_thread(path.read_bytes)


def _text(html: str) -> str:
    """The page's visible words, roughly: tags dropped, entities decoded, spaces collapsed."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    body = re.sub(r"<section[^>]*\bhidden\b[^>]*>.*?</section>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body)))


def _near(colour: tuple[int, ...], rgb: tuple[int, int, int], tolerance: int = 6) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour[:3], rgb, strict=True))


def _decode_png(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Width, height and pixels of an 8-bit RGB(A), non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, chunk = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        header = chunk if kind == b"IHDR" else header
        idat += chunk if kind == b"IDAT" else b""
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, (depth, colour_type, interlace)
    channels = 4 if colour_type == 6 else 3
    raw, stride = zlib.decompress(idat), width * channels
    previous, pixels = bytearray(stride), []
    for y in range(height):
        start = y * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(raw[start], line, previous, channels)
        pixels.extend(tuple(line[x : x + channels]) for x in range(0, stride, channels))
        previous = line
    return width, height, pixels


def _unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> None:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        corner = previous[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            line[i] = (line[i] + predictor) & 0xFF
