"""The notification service's read models rebuilt from scratch equal the live ones: the directory,
and what reminders and parties read of the county's pairing, monitoring and reporting events (the
end-to-end county of tests/support/county.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from services.notification.app import PROJECTIONS
from services.notification.app import create as notification_app
from shared.auth import Role
from shared.runtime.rebuild import rebuild_projection
from shared.service import events_behind
from shared.settings import Settings
from tests.integration.test_reporting_rebuild import projection_rows
from tests.support.apps import running, token, wait_until
from tests.support.county import COUNTY, build_county, county_services, county_settings


async def test_rebuilt_notification_views_equal_the_live_ones(make_settings: Callable[..., Settings]) -> None:
    settings = county_settings(make_settings())
    async with county_services(settings) as c:
        await build_county(c)
        app = notification_app(settings, c.clock)
        async with running(app) as client:
            county = token(settings, Role.county_officer, COUNTY)
            recipient = {"name": "县乡村振兴局", "role": "county_officer", "region_code": COUNTY,
                         "channels": [{"kind": "email", "address": "xzj@example.cn"}]}  # fmt: skip
            rule = {"on_event": "reporting.supervision_card_changed", "region_prefix": COUNTY,
                    "where": {"card": ["red"]}, "roles": ["county_officer"],
                    "channels": ["email"]}  # fmt: skip
            assert (await client.post("/recipients", json=recipient, headers=county)).status_code == 201
            put = await client.put(f"/routing-rules/{uuid.uuid4()}", json=rule, headers=county)
            assert put.status_code == 201, put.text
            runtime = app.state.runtime

            async def idle() -> bool:
                return await events_behind(runtime, PROJECTIONS) == 0

            await wait_until(idle, 30, "the notification projections caught up")
            live = await projection_rows(runtime.engine, PROJECTIONS)
            # The county reached every table (none compared empty against empty).
            assert all(live.values()), {t: len(r) for t, r in live.items()}
            assert any(row[2] for row in live["household_watch"])  # some households monitored

            for name in PROJECTIONS:
                assert await rebuild_projection(name, settings) > 0, name
            assert await projection_rows(runtime.engine, PROJECTIONS) == live
