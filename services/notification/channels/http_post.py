"""What an HTTP answer means for a delivery, shared by the webhooks and the SMS gateway."""

from __future__ import annotations

import httpx

from services.notification.message import DeliveryError

# Servers that are busy or away answer these; a later try may pass.
_RETRYABLE = frozenset({408, 425, 429})


def check_response(response: httpx.Response, who: str) -> None:
    """Return on 2xx; otherwise raise ``DeliveryError``: 408/425/429 and 5xx retryable, any other
    status (a 3xx is not followed: the address is to be fixed) not."""
    status = response.status_code
    if 200 <= status < 300:
        return
    retryable = status in _RETRYABLE or status >= 500
    reason = f"{who} answered HTTP {status}"
    snippet = response.text[:200].strip() if response.content else ""
    if snippet:
        reason += f": {snippet}"
    raise DeliveryError(reason, retryable=retryable, retry_after_s=_retry_after(response))


async def post(
    client: httpx.AsyncClient, url: str, who: str, content: bytes, headers: dict[str, str]
) -> None:
    """POST and classify: a timeout or a connection that fails is retryable."""
    try:
        response = await client.post(url, content=content, headers=headers)
    except httpx.TimeoutException as error:
        raise DeliveryError(
            f"{who} did not answer in time ({type(error).__name__})", retryable=True
        ) from error
    except httpx.TransportError as error:
        raise DeliveryError(f"{who} could not be reached: {error!r}", retryable=True) from error
    except httpx.InvalidURL as error:
        raise DeliveryError(f"{who}: not a usable URL ({error})", retryable=False) from error
    check_response(response, who)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None
