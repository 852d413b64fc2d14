"""Personal data of households (DESIGN §5): sealed under a key per household, found by a keyed digest.

- Each household has its own random 256-bit key; personal fields (names, citizen ID numbers,
  phone numbers) are sealed with AES-GCM under it, the household id bound in as associated data
  so a sealed field cannot be moved to another household. Erasure destroys the key
  (crypto-shredding): the events stay, their sealed fields become noise, every statistic stays.
- Household keys are stored wrapped (AES-GCM) under a key derived from the deployment's
  ``XINGCUN_PERSONAL_DATA_KEY``, so a database dump alone reads nothing.
- A citizen ID number is found through ``HMAC-SHA256(index key, number)``: a lookup is one index
  probe, and the digest is kept only in the service's own index table, never in an event.

Pure functions and small value objects; the key table is read and written by ``keys.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"
_NONCE = 12
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class Unreadable(Exception):
    """A sealed value whose key is gone (erased) or that was not sealed for this household."""


def citizen_id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid 18-character citizen ID number (GB 11643), or None."""
    # ASCII digits only: str.isdigit() also takes full-width ones, whose digest differs
    if (
        len(value) != 18
        or not (value[:17].isascii() and value[:17].isdigit())
        or value[17] not in "0123456789X"
    ):
        return "a citizen ID number has 17 digits and a check character (0-9 or X)"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:  # 31 April, 29 February of a common year, month 13, year 0
        return "the birth date in the ID number is not a date"
    expected = _CHECK[sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True)) % 11]
    if value[17] != expected:
        return f"the check character should be {expected} (GB 11643)"
    return None


_ID_LIKE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


def holds_citizen_id(text: str) -> bool:
    """Whether free text holds a valid citizen ID number (it would be published in clear)."""
    return any(citizen_id_problem(m.group().upper()) is None for m in _ID_LIKE.finditer(text))


def check_character(first17: str) -> str:
    """The GB 11643 check character of 17 digits (for generating valid test data)."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def mask_id(value: str) -> str:
    """``1506**********1234``: what a report shows of an ID number."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


@dataclass(frozen=True)
class MasterKeys:
    """The two keys derived from ``XINGCUN_PERSONAL_DATA_KEY``: one wraps household keys, one indexes IDs."""

    wrap: bytes
    index: bytes

    @classmethod
    def derive(cls, secret: str) -> MasterKeys:
        if len(secret) < 32:
            raise RuntimeError("XINGCUN_PERSONAL_DATA_KEY is not set or shorter than 32 characters")
        root = secret.encode()
        return cls(
            wrap=hmac.new(root, b"xingcun/household-key-wrap", hashlib.sha256).digest(),
            index=hmac.new(root, b"xingcun/citizen-id-index", hashlib.sha256).digest(),
        )

    def id_digest(self, id_number: str) -> bytes:
        return hmac.new(self.index, id_number.upper().encode(), hashlib.sha256).digest()

    def wrap_key(self, household_id: uuid.UUID, key: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + AESGCM(self.wrap).encrypt(nonce, key, household_id.bytes)

    def unwrap_key(self, household_id: uuid.UUID, wrapped: bytes) -> bytes:
        try:
            return AESGCM(self.wrap).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], household_id.bytes)
        except InvalidTag:
            raise Unreadable("the household key does not unwrap under this deployment's key") from None


def new_household_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


# One encoder for every seal: json.dumps with options builds a new one per call (an import seals
# twice a row).
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def seal(key: bytes, household_id: uuid.UUID, fields: dict[str, Any]) -> str:
    nonce = os.urandom(_NONCE)
    sealed = nonce + AESGCM(key).encrypt(nonce, _ENCODE(fields).encode(), household_id.bytes)
    return _VERSION + "." + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()


def unseal(key: bytes | None, household_id: uuid.UUID, value: str) -> dict[str, Any]:
    if key is None:
        raise Unreadable("the household's personal data was erased")
    version, _, body = value.partition(".")
    if version != _VERSION:
        raise Unreadable(f"unknown sealing version {version!r}")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        plain = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], household_id.bytes)
    except InvalidTag:
        raise Unreadable("sealed under another key") from None
    except ValueError:  # not base64, or too short to hold a nonce
        raise Unreadable("not a sealed value") from None
    result: dict[str, Any] = json.loads(plain)
    return result
