"""The local folder ``./.xingcun/``: data of the embedded servers, logs, and where things listen."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DATA_DIR = Path(os.environ.get("XINGCUN_HOME", ".xingcun"))
RUNTIME_ENV = "runtime.env"


def auth_secret(data_dir: Path = DATA_DIR) -> str:
    """The deployment's token secret: from the environment, else kept in the data folder."""
    return _kept_secret("XINGCUN_AUTH_SECRET", data_dir / "auth-secret")


def personal_data_key(data_dir: Path = DATA_DIR) -> str:
    """The key households' personal data is sealed under: from the environment, else kept here.

    Losing it makes every household's personal fields unreadable: back it up with the database.
    """
    return _kept_secret("XINGCUN_PERSONAL_DATA_KEY", data_dir / "personal-data-key")


def _kept_secret(variable: str, path: Path) -> str:
    if os.environ.get(variable):
        return os.environ[variable]
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def write_runtime_env(values: dict[str, str], data_dir: Path = DATA_DIR) -> None:
    lines = [f"{key}={value}" for key, value in values.items()]
    (data_dir / RUNTIME_ENV).write_text("\n".join(lines) + "\n")


def load_runtime_env(data_dir: Path = DATA_DIR) -> None:
    """Let CLI commands find a running ``xingcun up``; the environment still wins."""
    path = data_dir / RUNTIME_ENV
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key and key not in os.environ:
            os.environ[key] = value
