"""The notification directory over HTTP against real PostgreSQL and JetStream: recipients and
routing rules written as events, listed from the projection within the caller's region; refusals
write nothing; the seed from the configuration is appended once however often the service starts."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from services.notification.app import create as notification_app
from services.notification.seed import recipient_id_of, rule_id_of
from shared.auth import Role
from shared.settings import Settings
from tests.support.apps import running, token, wait_until

COUNTY = "150602"
TOWNSHIP = "150602103"
OTHER_COUNTY = "150603"


def township_recipient(**change: Any) -> dict[str, Any]:
    body = {
        "name": "城关镇乡村振兴办",
        "role": "township_officer",
        "region_code": TOWNSHIP,
        "channels": [{"kind": "email", "address": "cgz@example.cn"}],
    }
    return {**body, **change}


def flag_rule(**change: Any) -> dict[str, Any]:
    body = {
        "on_event": "monitoring.household_flagged",
        "region_prefix": COUNTY,
        "roles": ["township_officer"],
        "channels": ["email", "sms"],
    }
    return {**body, **change}


async def stored(client_app: Any) -> list[tuple[str, int, str, str]]:
    rows = await client_app.state.runtime.store.pool.fetch(
        "SELECT stream_id, stream_version, type, region_code FROM events ORDER BY stream_id, stream_version"
    )
    return [(r["stream_id"], r["stream_version"], r["type"], r["region_code"]) for r in rows]


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert field in [e["field"] for e in response.json()["errors"]], response.text


async def test_officers_keep_the_directory_of_their_region(settings: Settings) -> None:
    app = notification_app(settings)
    county = token(settings, Role.county_officer, COUNTY)
    platform = token(settings, Role.platform, "15")
    async with running(app) as client:
        # Refusals first: none of them writes anything.
        bad_bodies = [
            (township_recipient(channels=[{"kind": "email", "address": "cgz"}]), "channels.0.address"),
            (
                township_recipient(
                    channels=[{"kind": "webhook", "address": "http://x.example.cn/in", "secret_ref": "k"}]
                ),
                "channels.0.address",
            ),
            (
                township_recipient(channels=[{"kind": "webhook", "address": "https://x.example.cn/in"}]),
                "channels.0.secret_ref",
            ),
            (township_recipient(channels=[{"kind": "sms", "address": "12345"}]), "channels.0.address"),
            (township_recipient(channels=[{"kind": "fax", "address": "0471-1"}]), "channels.0.kind"),
            (township_recipient(role="mayor"), "role"),
            (township_recipient(region_code="1506021"), "region_code"),
        ]
        for body, field in bad_bodies:
            assert_problem(await client.post("/recipients", json=body, headers=county), 422, field)
        rule_id = uuid.uuid4()
        for body, field in [
            (flag_rule(on_event="monitoring.household_flaged"), "on_event"),
            (flag_rule(roles=["mayor"]), "roles.0"),
            (flag_rule(channels=["pigeon"]), "channels.0"),
        ]:
            assert_problem(
                await client.put(f"/routing-rules/{rule_id}", json=body, headers=county), 422, field
            )
        for who in (
            token(settings, Role.township_officer, TOWNSHIP),
            token(settings, Role.viewer, COUNTY),
            token(settings, Role.county_officer, OTHER_COUNTY),
        ):
            assert_problem(await client.post("/recipients", json=township_recipient(), headers=who), 403)
            assert_problem(await client.put(f"/routing-rules/{rule_id}", json=flag_rule(), headers=who), 403)
        assert_problem(await client.post("/recipients", json=township_recipient(), headers={}), 401)
        assert await stored(app) == []

        # A county officer registers a township's recipient, and changes it.
        made = await client.post("/recipients", json=township_recipient(), headers=county)
        assert made.status_code == 201, made.text
        recipient_id = made.json()["recipient_id"]
        assert made.headers["location"] == f"/recipients/{recipient_id}"
        assert (made.json()["version"], made.json()["active"]) == (1, True)
        got = await client.get(f"/recipients/{recipient_id}", headers=county)
        assert got.json() == made.json()

        changed_body = township_recipient(
            channels=[
                {"kind": "email", "address": "cgz@example.cn"},
                {"kind": "sms", "address": "13800138000"},
            ]
        )
        changed = await client.put(f"/recipients/{recipient_id}", json=changed_body, headers=county)
        assert changed.status_code == 200, changed.text
        assert changed.json()["version"] == 2
        assert [c["kind"] for c in changed.json()["channels"]] == ["email", "sms"]
        again = await client.put(f"/recipients/{recipient_id}", json=changed_body, headers=county)
        assert again.json() == changed.json()  # unchanged: nothing appended
        missing = await client.put(f"/recipients/{uuid.uuid4()}", json=changed_body, headers=county)
        assert_problem(missing, 404)
        # Another county cannot read it, nor move it into its own region.
        other = token(settings, Role.county_officer, OTHER_COUNTY)
        assert_problem(await client.get(f"/recipients/{recipient_id}", headers=other), 403)
        moved = await client.put(
            f"/recipients/{recipient_id}", json=township_recipient(region_code=OTHER_COUNTY), headers=other
        )
        assert_problem(moved, 403)

        # The platform registers one in the other county; a rule for the county and one for the province.
        elsewhere = await client.post(
            "/recipients",
            json=township_recipient(name="另一县", role="county_officer", region_code=OTHER_COUNTY),
            headers=platform,
        )
        assert elsewhere.status_code == 201, elsewhere.text
        created = await client.put(f"/routing-rules/{rule_id}", json=flag_rule(), headers=county)
        assert created.status_code == 201, created.text
        assert created.json()["version"] == 1
        repeated = await client.put(f"/routing-rules/{rule_id}", json=flag_rule(), headers=county)
        assert (repeated.status_code, repeated.json()) == (200, created.json())
        replaced = await client.put(
            f"/routing-rules/{rule_id}", json=flag_rule(channels=["email"]), headers=county
        )
        assert (replaced.status_code, replaced.json()["version"], replaced.json()["channels"]) == (
            200,
            2,
            ["email"],
        )
        province_rule = uuid.uuid4()
        star = flag_rule(on_event="*", region_prefix="15", roles=["county_officer"], channels=["webhook"])
        assert (
            await client.put(f"/routing-rules/{province_rule}", json=star, headers=platform)
        ).status_code == 201
        # A county officer reads the province's rule (it applies to the county) but cannot change it.
        assert (await client.get(f"/routing-rules/{province_rule}", headers=county)).json()[
            "region_prefix"
        ] == "15"
        assert_problem(
            await client.put(f"/routing-rules/{province_rule}", json=flag_rule(), headers=county), 403
        )
        other_rule = uuid.uuid4()
        assert (
            await client.put(f"/routing-rules/{other_rule}", json=flag_rule(region_prefix=OTHER_COUNTY),
                             headers=platform)
        ).status_code == 201  # fmt: skip
        assert_problem(await client.get(f"/routing-rules/{other_rule}", headers=county), 403)

        recipient_streams = {f"recipient-{recipient_id}", f"recipient-{elsewhere.json()['recipient_id']}"}
        events = await stored(app)
        assert [e for e in events if e[0] in recipient_streams] == sorted(
            [
                (f"recipient-{recipient_id}", 1, "notification.recipient_registered", "150602103000"),
                (f"recipient-{recipient_id}", 2, "notification.recipient_updated", "150602103000"),
                (f"recipient-{elsewhere.json()['recipient_id']}", 1, "notification.recipient_registered",
                 "150603000000"),
            ]
        )  # fmt: skip
        assert [e for e in events if e[0] == f"routing-rule-{rule_id}"] == [
            (f"routing-rule-{rule_id}", 1, "notification.routing_rule_set", "150602000000"),
            (f"routing-rule-{rule_id}", 2, "notification.routing_rule_set", "150602000000"),
        ]
        assert len(events) == 3 + 2 + 1 + 1

        # Lists come from the projection, inside the caller's region.
        async def listed(path: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
            response = await client.get(path, headers=headers, params=params)
            assert response.status_code == 200, response.text
            return response.json()  # type: ignore[no-any-return]

        async def caught_up() -> bool:
            rules = await listed("/routing-rules", platform)
            recipients = await listed("/recipients", platform)
            versions = {r["rule_id"]: r["version"] for r in rules["items"]}
            return (
                versions.get(str(rule_id)) == 2
                and recipients["total"] == 2
                and all(r["version"] == 2 for r in recipients["items"] if r["recipient_id"] == recipient_id)
            )

        await wait_until(caught_up, 20, "the directory projected")
        mine = await listed("/recipients", county)
        assert (mine["total"], [r["recipient_id"] for r in mine["items"]]) == (1, [recipient_id])
        assert mine["items"][0] == changed.json()
        assert (await listed("/recipients", county, region=TOWNSHIP))["total"] == 1
        assert (await listed("/recipients", county, region="150602104"))["total"] == 0
        assert (await listed("/recipients", county, channel="sms"))["total"] == 1
        assert (await listed("/recipients", county, role="county_officer"))["total"] == 0
        assert (await listed("/recipients", platform, role="county_officer"))["total"] == 1
        assert_problem(await client.get("/recipients", headers=county, params={"region": OTHER_COUNTY}), 403)
        assert_problem(await client.get("/recipients", headers=county, params={"colour": "red"}), 422)
        township_reader = token(settings, Role.township_officer, "150602104")
        assert (await listed("/recipients", township_reader))["total"] == 0

        rules = await listed("/routing-rules", county)
        assert sorted(r["rule_id"] for r in rules["items"]) == sorted([str(rule_id), str(province_rule)])
        assert (await listed("/routing-rules", county, on_event="*"))["total"] == 1
        assert (await listed("/routing-rules", county, role="township_officer"))["total"] == 1
        paged = await listed("/routing-rules", platform, page_size=2, page=2)
        assert (paged["total"], len(paged["items"])) == (3, 1)


SEED = {
    "recipients": [
        {"key": "cgz", "name": "城关镇", "role": "township_officer", "region_code": TOWNSHIP,
         "channels": [{"kind": "email", "address": "cgz@example.cn"}]},
        {"key": "county-system", "name": "县平台", "role": "county_officer", "region_code": COUNTY,
         "channels": [{"kind": "webhook", "address": "https://county.example.cn/in",
                       "secret_ref": "county"}]},
    ],
    "rules": [
        {"key": "flags", "on_event": "monitoring.household_flagged", "region_prefix": COUNTY,
         "roles": ["township_officer", "county_officer"], "channels": ["email", "webhook"]},
    ],
}  # fmt: skip


async def test_the_seed_is_appended_once_across_restarts(settings: Settings) -> None:
    seeded = settings.model_copy(update={"notification_seed": SEED})
    county = token(settings, Role.county_officer, COUNTY)
    township_id, rule_id = recipient_id_of("cgz"), rule_id_of("flags")

    async def start_and_seed() -> list[tuple[str, int, str, str]]:
        app = notification_app(seeded)
        async with running(app):
            worker = next(t for t in app.state.runtime.tasks if t.get_name() == "seed_directory")
            await wait_until(worker.done, 20, "the seed applied")
            assert worker.exception() is None
            return await stored(app)

    first = await start_and_seed()
    assert sorted(e[0] for e in first) == sorted(
        [
            f"recipient-{township_id}",
            f"recipient-{recipient_id_of('county-system')}",
            f"routing-rule-{rule_id}",
        ]
    )
    assert {e[1] for e in first} == {1}

    # An officer edits a seeded recipient; a restart neither appends the seed again nor undoes the edit.
    app = notification_app(seeded)
    async with running(app) as client:
        worker = next(t for t in app.state.runtime.tasks if t.get_name() == "seed_directory")
        await wait_until(worker.done, 20, "the seed applied")
        seeded_one = await client.get(f"/recipients/{township_id}", headers=county)
        assert seeded_one.status_code == 200, seeded_one.text
        assert seeded_one.json()["name"] == "城关镇"
        body = {**SEED["recipients"][0], "name": "城关镇人民政府"}
        del body["key"]
        edited = await client.put(f"/recipients/{township_id}", json=body, headers=county)
        assert edited.json()["version"] == 2, edited.text
        rule = await client.get(f"/routing-rules/{rule_id}", headers=county)
        assert rule.json()["roles"] == ["township_officer", "county_officer"]

    third = await start_and_seed()
    assert len(third) == len(first) + 1
    assert (f"recipient-{township_id}", 2, "notification.recipient_updated", "150602103000") in third

    app = notification_app(seeded)
    async with running(app) as client:
        assert (await client.get(f"/recipients/{township_id}", headers=county)).json()[
            "name"
        ] == "城关镇人民政府"
