"""docker-compose.yml, its cluster override, .env.example and deploy/, checked by reading them (no
Docker engine runs on these machines): health checks, pinned images, start order, ports, volumes,
the environment each service needs, the databases created at init, the image's user.

The override is read the way Compose merges it (mappings merged, sequences appended, ``command``
and ``healthcheck.test`` replaced, ``!override`` replacing, ``extends`` resolved), far enough for
what is checked here.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from shared.settings import SERVICES, Settings

REPO = Path(__file__).resolve().parents[2]
BASE = "docker-compose.yml"
CLUSTER = "docker-compose.cluster.yml"
PROJECTS = (BASE, CLUSTER)
NATS_NODES = {BASE: ("nats",), CLUSTER: ("nats", "nats-2", "nats-3")}
# The HTTP port each service publishes (README, `make up`); 8113: reporting's second instance.
HOST_PORTS = {"pairing": "8101", "monitoring": "8102", "reporting": "8103", "notification": "8104"}
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
# ${NAME}, ${NAME:-default}, ${NAME:?message}, ... (Compose interpolation; $$ escapes, unused here)
VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")
# Settings that have a default, but that a deployment must set: they are empty by default.
SECRETS = {"auth_secret": SERVICES, "personal_data_key": ("monitoring",)}


@dataclass(frozen=True)
class Tagged:
    """A value Compose tags (``!override``, ``!reset``): it replaces what it merges onto."""

    tag: str
    value: Any


class ComposeLoader(yaml.SafeLoader):
    pass


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tagged:
    value: Any
    if isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        value = loader.construct_scalar(node)  # type: ignore[arg-type]
    return Tagged(suffix, value)


ComposeLoader.add_multi_constructor("!", _tagged)


def load(name: str) -> dict[str, Any]:
    return yaml.load((REPO / name).read_text(), Loader=ComposeLoader)


# Replaced, not merged, by a later file (healthcheck.test included).
REPLACED = {"command", "entrypoint", "test"}


def merge(base: Any, over: Any) -> Any:
    if isinstance(over, Tagged):
        return None if over.tag == "reset" else over.value
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = merge(base.get(key) if key not in REPLACED else None, value)
        return merged
    if isinstance(base, list) and isinstance(over, list):
        return base + [item for item in over if item not in base]
    return over


def extended(service: dict[str, Any]) -> dict[str, Any]:
    if "extends" not in service:
        return service
    source = service["extends"]
    parent = extended(load(source.get("file", BASE))["services"][source["service"]])
    return merge(parent, {k: v for k, v in service.items() if k != "extends"})


@cache
def project(name: str) -> dict[str, Any]:
    """The model Compose runs for ``docker compose -f docker-compose.yml [-f <name>]``."""
    model = load(BASE) if name == BASE else merge(load(BASE), load(name))
    model["services"] = {n: extended(s) for n, s in model["services"].items()}
    return model


def services(name: str) -> dict[str, dict[str, Any]]:
    return project(name)["services"]


def apps(name: str) -> dict[str, dict[str, Any]]:
    """The services built from deploy/Dockerfile (reporting-2 included)."""
    return {n: s for n, s in services(name).items() if "build" in s}


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, Tagged):
        yield from strings(node.value)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node


def interpolations(name: str) -> list[re.Match[str]]:
    return [m for text in strings(load(name)) for m in VARIABLE.finditer(text)]


def passed_through(name: str) -> set[str]:
    """Environment keys without a value: Compose passes the variable from .env when it is set
    there, and leaves it unset otherwise (the setting keeps its default)."""
    return {key for s in services(name).values() for key, value in environment(s).items() if value is None}


def env_example() -> dict[str, tuple[bool, str]]:
    """Each variable .env.example names: (set, i.e. not commented out; its value)."""
    found: dict[str, tuple[bool, str]] = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if m := re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip()):
            found.setdefault(m[2], (m[1] is None, m[3]))
    return found


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment as a mapping (the anchors merge it)"
    return env


def plain(value: str) -> str:
    """A value with its interpolations replaced by their names (to read its shape)."""
    return VARIABLE.sub(lambda m: m["name"], value)


# --- every container ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROJECTS)
def test_every_service_has_a_health_check_and_a_restart_policy(name: str) -> None:
    for service_name, service in services(name).items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and check["test"][0] in ("CMD", "CMD-SHELL"), service_name
        assert {"interval", "timeout", "retries"} <= set(check), service_name
        assert service.get("restart") in ("unless-stopped", "always", "on-failure"), service_name


@pytest.mark.parametrize("name", PROJECTS)
def test_images_are_pinned_to_a_version(name: str) -> None:
    for service_name, service in services(name).items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        # a release (17.10, 2.15.1), not a line that moves (17, 2, latest), with its variant
        assert repository and re.fullmatch(r"\d+(\.\d+){1,2}(-[\w.]+)?", tag), f"{service_name}: {image}"
        if "build" in service:
            assert image == f"xingcun:{VERSION}", "the image is tagged with the package version"


def test_the_dockerfile_is_multi_stage_pinned_and_ends_unprivileged() -> None:
    lines = [
        line.strip()
        for line in (REPO / "deploy" / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    stages = [re.fullmatch(r"FROM (\S+)(?: AS (\S+))?", line) for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2 and all(stages), "a build stage and a runtime stage"
    for stage in stages:
        assert stage is not None and re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", stage[1]), stage
    build = stages[0][2] if stages[0] else None
    assert build and any(line.startswith(f"COPY --from={build} ") for line in lines), (
        "the runtime stage copies the build stage's result"
    )
    last_stage = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    users = [line.split()[1] for line in lines[last_stage:] if line.startswith("USER ")]
    assert users, "the runtime stage sets USER"
    assert users[-1].split(":")[0] not in ("root", "0"), users[-1]
    assert any("/readyz" in line for line in lines if line.startswith("HEALTHCHECK"))
    ignored = (REPO / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignored[next(i for i, p in enumerate(ignored) if not p.startswith("#"))] == "*", (
        "the context is an allow-list"
    )
    allowed = [p[1:] for p in ignored if p.startswith("!")]
    for kept_out in (".env", ".venv", ".xingcun", ".git"):
        assert not any(p.strip("/") == kept_out for p in allowed), kept_out


# --- the four services --------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROJECTS)
def test_services_wait_for_a_healthy_database_and_every_nats_node(name: str) -> None:
    assert set(apps(name)) >= set(SERVICES)
    for service_name, service in apps(name).items():
        depends = service["depends_on"]
        assert set(depends) == {"postgres", *NATS_NODES[name]}, service_name
        for dependency, how in depends.items():
            assert how == {"condition": "service_healthy"}, f"{service_name} on {dependency}"
            assert "healthcheck" in services(name)[dependency]


@pytest.mark.parametrize("name", PROJECTS)
def test_each_service_serves_its_api_and_answers_readiness_on_it(name: str) -> None:
    for service_name, service in apps(name).items():
        which = service_name.removesuffix("-2")
        assert service["command"] == ["xingcun", "serve", which, "--host", "0.0.0.0", "--port", "8000"]
        assert "http://127.0.0.1:8000/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["healthcheck"].get("start_period"), "room for the migrations at start"
        [port] = service["ports"]
        address, host, container = plain(port).split(":")
        assert (address, container) == ("HTTP_BIND_ADDRESS", "8000")
        assert host == (HOST_PORTS[which] if service_name in SERVICES else "8113")


@pytest.mark.parametrize("name", PROJECTS)
def test_published_ports(name: str) -> None:
    published = [plain(p).rsplit(":", 2)[-2:] for s in services(name).values() for p in s.get("ports", [])]
    hosts = [host for host, _ in published]
    assert len(hosts) == len(set(hosts)), f"a host port twice: {hosts}"
    nats = [plain(p) for p in services(name)["nats"]["ports"]]
    assert nats == ["NATS_BIND_ADDRESS:4222:4222", "127.0.0.1:8222:8222"], "monitoring on the host only"
    assert "ports" not in services(name)["postgres"], "PostgreSQL is reached through the services"
    for extra in NATS_NODES[name][1:]:
        assert "ports" not in services(name)[extra]


@pytest.mark.parametrize("name", PROJECTS)
def test_named_volumes_are_declared_and_used_and_mounts_exist(name: str) -> None:
    declared = set(project(name).get("volumes") or {})
    used = set()
    for service_name, service in services(name).items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{service_name} mounts {source}, which is missing"
            else:
                assert source in declared, f"{service_name} uses the undeclared volume {source}"
                used.add(source)
    assert used == declared
    for node in NATS_NODES[name]:
        assert any(v.endswith(":/data") for v in services(name)[node]["volumes"]), node
    assert "postgres-data:/var/lib/postgresql/data" in services(name)["postgres"]["volumes"]


# --- the environment ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROJECTS)
def test_every_variable_compose_reads_is_in_env_example(name: str) -> None:
    listed = env_example()
    read = {m["name"] for m in interpolations(name)} | passed_through(name)
    missing = read - set(listed)
    assert not missing, f".env.example lacks {sorted(missing)}"
    for m in interpolations(name):
        set_here, value = listed[m["name"]]
        if m["op"] == ":?":
            assert set_here and value == "", f"{m['name']}: listed empty: compose refuses to start without it"
        if m["op"] == ":-" and set_here:
            assert value == m["arg"], f"{m['name']}: .env.example shows compose's default"
    for key in passed_through(name):
        set_here, _ = listed[key]
        # an empty value would reach the service as "": not a number, not JSON
        assert not set_here, f"{key}: commented out in .env.example, its default shown"


def test_env_example_lists_only_what_compose_reads() -> None:
    read = {m["name"] for name in PROJECTS for m in interpolations(name)}
    read |= {key for name in PROJECTS for key in passed_through(name)}
    assert set(env_example()) <= read


@pytest.mark.parametrize("name", [BASE, CLUSTER])
def test_every_xingcun_variable_is_a_setting(name: str) -> None:
    for service_name, service in apps(name).items():
        for key in environment(service):
            if key.startswith("XINGCUN_"):
                field = key.removeprefix("XINGCUN_").lower()
                assert field in Settings.model_fields, f"{service_name}: {key} is no setting"


@pytest.mark.parametrize("name", PROJECTS)
def test_each_service_gets_the_secrets_and_servers_it_needs(name: str) -> None:
    required = [f for f, info in Settings.model_fields.items() if info.is_required()]
    for service_name, service in apps(name).items():
        env = environment(service)
        which = service_name.removesuffix("-2")
        for field in required:
            assert f"XINGCUN_{field.upper()}" in env, f"{service_name} lacks {field}"
        for secret, needed_by in SECRETS.items():
            if which in needed_by:
                value = env.get(f"XINGCUN_{secret.upper()}") or ""
                assert re.fullmatch(rf"\$\{{XINGCUN_{secret.upper()}:\?[^}}]+\}}", value), (
                    f"{service_name}: {secret} required from .env"
                )
        database = urlsplit(plain(env["XINGCUN_DATABASE_URL"] or ""))
        assert (database.scheme, database.hostname, database.port) == ("postgresql", "postgres", 5432)
        assert (database.username, database.password) == ("xingcun", "SERVICES_DB_PASSWORD")
        # one NATS user per service (deploy/nats/accounts.conf)
        nats = urlsplit(plain(env["XINGCUN_NATS_URL"] or ""))
        assert (nats.scheme, nats.hostname, nats.port) == ("nats", "nats", 4222)
        assert (nats.username, nats.password) == (which, f"NATS_{which.upper()}_PASSWORD")
        assert "XINGCUN_SUBJECT_ROOT" not in env and "XINGCUN_STREAM_PREFIX" not in env, (
            "accounts.conf is written for the default subject root and stream names"
        )


def test_the_databases_made_at_init_are_those_the_services_use() -> None:
    sql = (REPO / "deploy" / "postgres" / "init-databases.sql").read_text()
    owners = dict(re.findall(r"CREATE DATABASE (\w+) OWNER (\w+);", sql))
    defaults = Settings.model_construct(database_prefix=Settings.model_fields["database_prefix"].default)
    assert set(owners) == {defaults.database_name(s) for s in SERVICES}
    for service in apps(BASE).values():
        assert "XINGCUN_DATABASE_PREFIX" not in environment(service), "the init script names the databases"
    assert set(owners.values()) == {"xingcun"}
    assert re.search(r"CREATE ROLE xingcun LOGIN PASSWORD :'services_password';", sql)
    assert "\\getenv services_password SERVICES_DB_PASSWORD" in sql
    assert "GRANT pg_read_all_stats TO xingcun;" in sql, "the relay's horizon per database"
    statements = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    assert "SUPERUSER" not in statements.upper()
    postgres = services(BASE)["postgres"]
    assert set(environment(postgres)) >= {"POSTGRES_PASSWORD", "SERVICES_DB_PASSWORD"}
    assert any(
        v.startswith("./deploy/postgres/init-databases.sql:/docker-entrypoint-initdb.d/")
        for v in postgres["volumes"]
    )


# --- NATS ---------------------------------------------------------------------------------------


def nats_variables(conf: str) -> set[str]:
    """The environment variables a NATS configuration file reads ($NAME outside quotes)."""
    text = "\n".join(
        line.split("#")[0] for line in (REPO / "deploy" / "nats" / conf).read_text().splitlines()
    )
    text = re.sub(r'"[^"]*"', "", text)
    return set(re.findall(r"\$([A-Z][A-Z0-9_]*)", text))


@pytest.mark.parametrize("name", PROJECTS)
def test_every_nats_node_gets_the_passwords_its_configuration_reads(name: str) -> None:
    needed = nats_variables("accounts.conf") | nats_variables("nats.conf")
    assert {f"NATS_{s.upper()}_PASSWORD" for s in SERVICES} <= needed
    for node in NATS_NODES[name]:
        service = services(name)[node]
        conf = service["command"][-1].rsplit("/", 1)[-1]
        given = set(environment(service))
        assert needed | nats_variables(conf) <= given, f"{node} lacks {sorted(needed - given)}"
        assert "./deploy/nats:/etc/nats:ro" in service["volumes"]
        assert service["image"] == services(BASE)["nats"]["image"], "one NATS version"


def test_the_cluster_has_three_named_nodes_routed_to_each_other() -> None:
    nodes = {n: services(CLUSTER)[n] for n in NATS_NODES[CLUSTER]}
    names = {environment(s)["NATS_SERVER_NAME"] for s in nodes.values()}
    assert names == {"nats-1", "nats-2", "nats-3"}
    assert all(s["command"][-1] == "/etc/nats/cluster.conf" for s in nodes.values())
    volumes = [v.split(":")[0] for s in nodes.values() for v in s["volumes"] if v.endswith(":/data")]
    assert len(set(volumes)) == 3, "a store of its own for each node"
    routes = set(re.findall(r"nats-route://([\w-]+):6222", (REPO / "deploy/nats/cluster.conf").read_text()))
    assert routes == names
    # the routes reach each node by its own name; the services reach any node as "nats"
    aliases = {n: set(s["networks"]["default"]["aliases"]) for n, s in nodes.items()}
    assert aliases == {"nats": {"nats-1"}, "nats-2": {"nats"}, "nats-3": {"nats"}}
    for service_name, service in apps(CLUSTER).items():
        assert environment(service).get("XINGCUN_STREAM_REPLICAS") == "3", service_name


def test_the_cluster_runs_a_second_reporting_instance_like_the_first() -> None:
    first, second = services(CLUSTER)["reporting"], services(CLUSTER)["reporting-2"]
    assert second["command"] == first["command"]
    assert environment(second) == environment(first), "the same settings: the same durable consumers"
    assert second["image"] == first["image"]
