"""Identifier helpers kept out of the domain, which receives ids as arguments."""

from __future__ import annotations

import os
import time
import uuid

_MILLIS = (1 << 48) - 1
_RAND_B = (1 << 62) - 1
_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_new = object.__new__
_set = object.__setattr__


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7): ids sort by creation, which keeps B-tree inserts local.

    Built around ``uuid.UUID.__init__``, whose argument checks cost as much as the rest: an import
    makes five ids a row.
    """
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (time.time_ns() // 1_000_000 & _MILLIS) << 80
        | _VERSION_7
        | ((rand >> 62) & 0xFFF) << 64
        | _VARIANT
        | rand & _RAND_B
    )
    made = _new(uuid.UUID)
    _set(made, "int", value)
    _set(made, "is_safe", uuid.SafeUUID.unknown)
    return made
