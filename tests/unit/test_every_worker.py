"""``shared.service.every``: a background job that runs now, then on its interval, and outlives
its own failures."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from shared.service import every


async def test_a_worker_runs_on_its_interval_and_survives_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    fourth = asyncio.Event()

    async def job(runtime: Any) -> int:
        runs.append(len(runs))
        if len(runs) == 4:
            fourth.set()
        if len(runs) == 2:
            raise ConnectionError("the database went away")
        return len(runs)

    worker = every(
        "test job", job, lambda settings: settings.interval, lambda n: f"run {n}" if n == 3 else None
    )
    runtime = SimpleNamespace(settings=SimpleNamespace(interval=0.01))
    with caplog.at_level("INFO"):
        task = asyncio.create_task(worker(runtime))  # type: ignore[arg-type]
        await asyncio.wait_for(fourth.wait(), 5)
        task.cancel()
    assert worker.__name__ == "test_job"
    assert "test job failed" in caplog.text and "ConnectionError" in caplog.text
    assert "test job: run 3" in caplog.text and "run 1" not in caplog.text
