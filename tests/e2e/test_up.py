"""`xingcun up` as a person runs it: everything starts, a first agreement reaches the ledger,
Ctrl-C stops it all, and a second start finds the data again."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from shared.runtime.embedded import port_open
from tests.support.apps import REPO, wait_until
from tests.support.pairing import agreement_body, enterprise_body, village_body, village_code

pytestmark = pytest.mark.slow


def _port_base() -> int:
    for base in range(23100, 24000, 10):
        if not any(port_open("127.0.0.1", base + i) for i in range(4)):
            return base
    raise RuntimeError("no four free ports")


def _start(home: Path, base: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINGCUN_")}
    env.update({"XINGCUN_HOME": str(home), "XINGCUN_PORT_BASE": str(base)})
    return subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "up"],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _token(home: Path, role: str, region: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINGCUN_")}
    env["XINGCUN_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-m", "shared.cli", "token", "--role", role, "--region", region],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return {"authorization": f"Bearer {out.stdout.strip()}"}


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    return output


async def _all_ready(base: int) -> bool:
    async with httpx.AsyncClient() as client:
        for i in range(4):
            try:
                if (await client.get(f"http://127.0.0.1:{base + i}/readyz", timeout=2)).status_code != 200:
                    return False
            except httpx.HTTPError:
                return False
    return True


async def test_up_runs_the_slice_and_keeps_its_data(tmp_path: Path) -> None:
    home, base = tmp_path / "xingcun-home", _port_base()
    pairing, reporting = f"http://127.0.0.1:{base}", f"http://127.0.0.1:{base + 2}"
    notification = f"http://127.0.0.1:{base + 3}"
    process = _start(home, base)
    try:
        await wait_until(lambda: _all_ready(base), 90, "all four services ready")
        officer = _token(home, "federation_officer", "150602")
        county = _token(home, "county_officer", "150602")
        async with httpx.AsyncClient() as client:
            # The county wants an e-mail for each agreement signed; `up` keeps e-mails as files.
            recipient = {"name": "县工商联", "role": "federation_officer", "region_code": "150602",
                         "channels": [{"kind": "email", "address": "gsl@example.cn"}]}  # fmt: skip
            rule = {"on_event": "pairing.agreement_signed", "region_prefix": "150602",
                    "roles": ["federation_officer"], "channels": ["email"]}  # fmt: skip
            assert (
                await client.post(f"{notification}/recipients", json=recipient, headers=county)
            ).status_code == 201
            put = await client.put(f"{notification}/routing-rules/{uuid.uuid4()}", json=rule, headers=county)
            assert put.status_code == 201, put.text

            async def directory_ready() -> bool:
                r = await client.get(f"{notification}/routing-rules", headers=county)
                return r.status_code == 200 and r.json()["total"] == 1

            await wait_until(directory_ready, 15, "the rule in the directory")
            enterprise = await client.post(f"{pairing}/enterprises", json=enterprise_body(1), headers=officer)
            await client.post(f"{pairing}/villages", json=village_body(1), headers=officer)
            signed = await client.post(
                f"{pairing}/agreements",
                json=agreement_body(enterprise.json()["id"], village_code(1)),
                headers={**officer, "x-correlation-id": "up-test-agreement"},
            )
            assert signed.status_code == 201, signed.text

            async def in_ledger() -> bool:
                r = await client.get(f"{reporting}/ledgers/villages/{village_code(1)}", headers=officer)
                return r.status_code == 200 and len(r.json()["agreements"]) == 1

            await wait_until(in_ledger, 15, "the agreement in the ledger")
            await wait_until(lambda: list((home / "mail").glob("*.eml")), 15, "the e-mail kept")
            [kept] = list((home / "mail").glob("*.eml"))
            mail = email.message_from_bytes(kept.read_bytes(), policy=email.policy.default)
            assert mail["To"] == "gsl@example.cn" and "pairing.agreement_signed" in mail["Subject"]
            # The services log JSON lines; the request's line carries its correlation id.
            lines = [
                json.loads(line)
                for line in (home / "logs" / "pairing.log").read_text().splitlines()
                if line.startswith("{")
            ]
            mine = [line for line in lines if line.get("correlation_id") == "up-test-agreement"]
            [logged] = [line for line in mine if line["logger"] == "xingcun.http"]
            assert (logged["route"], logged["status"], logged["service"]) == ("/agreements", 201, "pairing")
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    for service in ("pairing", "monitoring", "reporting", "notification"):
        assert f"{service}" in output and "ready" in output
    assert "stopped" in output
    assert not any(port_open("127.0.0.1", base + i) for i in range(4)), "a service outlived Ctrl-C"

    process = _start(home, base)
    try:
        await wait_until(lambda: _all_ready(base), 90, "all four services ready again")
        viewer = _token(home, "viewer", "15")
        async with httpx.AsyncClient() as client:
            ledger = await client.get(f"{reporting}/ledgers/villages/{village_code(1)}", headers=viewer)
        assert ledger.status_code == 200
        assert ledger.json()["agreements"][0]["agreement_id"] == signed.json()["id"]
    finally:
        _stop(process)
