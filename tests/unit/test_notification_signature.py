"""The webhook signature: HMAC-SHA256 over "<timestamp>.<body>", checked within a tolerance."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from services.notification.channels.signature import sign, verify_signature
from services.notification.channels.webhook import resolve_secret
from services.notification.message import DeliveryError

SECRET = b"county-system-secret"
BODY = '{"subject":"防返贫监测"}'.encode()
NOW = 1_780_000_000


def test_the_signature_is_the_hex_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET, f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == f"sha256={expected}"


def test_a_receiver_accepts_our_signature_within_the_tolerance() -> None:
    signature = sign(SECRET, NOW, BODY)
    assert verify_signature(SECRET, str(NOW), BODY, signature, now=NOW)
    assert verify_signature(SECRET, NOW, BODY, signature, now=NOW + 300)
    assert verify_signature(SECRET, NOW, BODY, signature, now=NOW - 300)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "now"),
    [
        (b"another-secret", str(NOW), BODY, NOW),  # not signed by us
        (SECRET, str(NOW), BODY + b" ", NOW),  # body changed on the way
        (SECRET, str(NOW + 1), BODY, NOW),  # timestamp changed: the signature covers it
        (SECRET, str(NOW), BODY, NOW + 301),  # replayed too late
        (SECRET, "soon", BODY, NOW),  # not a timestamp
    ],
)
def test_a_receiver_refuses_anything_else(secret: bytes, timestamp: str, body: bytes, now: int) -> None:
    assert not verify_signature(secret, timestamp, body, sign(SECRET, NOW, BODY), now=now)


def test_a_signature_of_another_scheme_or_shape_is_refused() -> None:
    hex_only = sign(SECRET, NOW, BODY).removeprefix("sha256=")
    assert not verify_signature(SECRET, NOW, BODY, hex_only, now=NOW)
    assert not verify_signature(SECRET, NOW, BODY, "sha1=" + hex_only, now=NOW)
    assert not verify_signature(SECRET, NOW, BODY, "", now=NOW)


def test_a_secret_is_found_by_its_name_and_a_missing_one_is_not_retried() -> None:
    assert resolve_secret({"county-system": "s3cret"}, "county-system") == b"s3cret"
    for ref in ("other", None):
        with pytest.raises(DeliveryError) as caught:
            resolve_secret({"county-system": "s3cret"}, ref)
        assert caught.value.retryable is False
        assert "s3cret" not in caught.value.reason
