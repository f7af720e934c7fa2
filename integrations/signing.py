"""Signatures of outgoing webhooks: `Databourse-Signature: t=<unix time>,v1=<hex HMAC-SHA256>`.

The HMAC key is the endpoint's whole secret (`whsec_…`, UTF-8); the message is the timestamp, a full stop and the
raw request body: `f"{t}.{body}"`. A receiver recomputes it over the bytes it received (before parsing the JSON),
compares in constant time and refuses a timestamp older than its tolerance, so a captured delivery cannot be
replayed later. docs/partners-webhooks.md has the standalone version partners copy; tests check the two agree.
"""

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Databourse-Signature"
EVENT_HEADER = "Databourse-Event"
DELIVERY_HEADER = "Databourse-Delivery"
SECRET_PREFIX = "whsec_"
SCHEME = "v1"


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and 32 random bytes, URL-safe base64."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes | str, timestamp: int | None = None) -> str:
    """The `Databourse-Signature` header value for `body` sent at `timestamp` (default: now)."""
    body = body.encode() if isinstance(body, str) else body
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={timestamp},{SCHEME}={_digest(secret, body, timestamp)}"


def parse(header: str) -> tuple[int | None, list[str]]:
    """The timestamp and the v1 signatures of a header (several v1 entries are allowed; unknown ones ignored)."""
    timestamp, signatures = None, []
    for item in (header or "").split(","):
        key, _sep, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME and value:
            signatures.append(value)
    return timestamp, signatures


def verify(secret: str, body: bytes | str, header: str, tolerance: int = 300, *, now: float | None = None) -> bool:
    """Whether `header` signs `body` with `secret`, at a time no more than `tolerance` seconds from now."""
    body = body.encode() if isinstance(body, str) else body
    timestamp, signatures = parse(header)
    if timestamp is None or not signatures:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = _digest(secret, body, timestamp)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
