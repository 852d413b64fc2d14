"""The webhook signature (pure), for the sender and for receivers: HMAC-SHA256 with the shared
secret over ``"<timestamp>.<body>"``, sent as ``X-Xingcun-Signature: sha256=<hex>`` with
``X-Xingcun-Timestamp: <unix seconds>``. The timestamp is signed so that a captured request cannot
be replayed later than ``tolerance_s``."""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Xingcun-Timestamp"
SIGNATURE_HEADER = "X-Xingcun-Signature"
EVENT_ID_HEADER = "X-Xingcun-Event-Id"
DELIVERY_ID_HEADER = "X-Xingcun-Delivery-Id"
_SCHEME = "sha256="


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Xingcun-Signature`` value of ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    return _SCHEME + mac.hexdigest()


def verify_signature(
    secret: bytes, timestamp: str | int, body: bytes, signature: str, now: float, tolerance_s: float = 300
) -> bool:
    """Whether ``signature`` is ours for ``body`` and ``timestamp`` lies within ``tolerance_s`` of
    ``now`` (unix seconds). ``body`` is the request body exactly as received, before any parsing."""
    try:
        seconds = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - seconds) > tolerance_s or not signature.startswith(_SCHEME):
        return False
    return hmac.compare_digest(sign(secret, seconds, body), signature)
