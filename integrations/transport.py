"""Posting one delivery to a partner's endpoint: signed, with short timeouts, reading only the start of the answer.

A worker must never wait long on a partner: connecting is given INTEGRATIONS_CONNECT_TIMEOUT seconds and each read
of the answer INTEGRATIONS_READ_TIMEOUT; redirects are not followed (a 3xx is a failure); at most RESPONSE_BYTES of
the body are read. Outside development (INTEGRATIONS_ALLOW_HTTP) the URL must be https:// and its host must not
resolve to a loopback, private, link-local or otherwise reserved address, so an endpoint cannot be aimed at the
exchange's own network.
"""

import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from urllib3.exceptions import HTTPError as Urllib3Error

from integrations import signing

USER_AGENT = "Databourse-Webhooks/1.0"
RESPONSE_BYTES = 4096
RESPONSE_CHARS = 1000


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the status code and the start of the body, or a stable error code."""

    status_code: int | None = None
    body: str = ""
    error: str = ""  # "", "http_status", "timeout", "connection_failed", "tls_error", "unsafe_destination", …
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return not self.error and self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        return not self.ok and self.error != "unsafe_destination"


class UnsafeDestination(ValueError):
    """The URL is not one the exchange posts to (scheme, or an address inside a private network)."""


def local_destinations_allowed() -> bool:
    """Plain http and private addresses: only in development and tests (INTEGRATIONS_ALLOW_HTTP, else DEBUG)."""
    allowed = getattr(settings, "INTEGRATIONS_ALLOW_HTTP", None)
    return settings.DEBUG if allowed is None else bool(allowed)


def check_destination(url: str, *, resolve: bool = True) -> None:
    """Raise UnsafeDestination unless the exchange may post to `url`."""
    parts = urlsplit(url)
    local_ok = local_destinations_allowed()
    if parts.scheme != "https" and not (local_ok and parts.scheme == "http"):
        raise UnsafeDestination("The URL must start with https://.")
    if not parts.hostname:
        raise UnsafeDestination("The URL has no host.")
    if local_ok:
        return
    for address in _addresses(parts.hostname, parts.port or 443, resolve=resolve):
        if not address.is_global or address.is_multicast:
            raise UnsafeDestination("The URL points into a private or reserved network.")


def _addresses(host: str, port: int, *, resolve: bool) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        raise UnsafeDestination("The URL points at this machine.")
    if not resolve:
        return []
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []  # not resolvable now: the attempt fails to connect, and is retried
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def encode(payload: dict) -> bytes:
    """The request body: the payload as compact UTF-8 JSON (sign exactly these bytes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def headers_for(*, secret: str, body: bytes, event_type: str, delivery_id: int, timestamp: int | None = None) -> dict:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        signing.SIGNATURE_HEADER: signing.sign(secret, body, timestamp),
        signing.EVENT_HEADER: event_type,
        signing.DELIVERY_HEADER: str(delivery_id),
    }


def post(*, url: str, secret: str, event_type: str, delivery_id: int, payload: dict) -> Outcome:
    """Send one signed attempt and say what came of it; never raises for the partner's faults."""
    started = time.monotonic()
    try:
        check_destination(url)
        return _post(url, secret, event_type, delivery_id, payload, started)
    except UnsafeDestination:
        return Outcome(error="unsafe_destination", duration_ms=_elapsed(started))
    except requests.Timeout:
        return Outcome(error="timeout", duration_ms=_elapsed(started))
    except requests.exceptions.SSLError:
        return Outcome(error="tls_error", duration_ms=_elapsed(started))
    except requests.ConnectionError:
        return Outcome(error="connection_failed", duration_ms=_elapsed(started))
    except requests.RequestException:
        return Outcome(error="request_failed", duration_ms=_elapsed(started))


def _post(url: str, secret: str, event_type: str, delivery_id: int, payload: dict, started: float) -> Outcome:
    body = encode(payload)
    headers = headers_for(secret=secret, body=body, event_type=event_type, delivery_id=delivery_id)
    timeout = (settings.INTEGRATIONS_CONNECT_TIMEOUT, settings.INTEGRATIONS_READ_TIMEOUT)
    with requests.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True) as r:
        text = _start_of(r)
        ok = 200 <= r.status_code < 300
        return Outcome(status_code=r.status_code, body=text, error="" if ok else "http_status",
                       duration_ms=_elapsed(started))  # fmt: skip


def _start_of(response: requests.Response) -> str:
    """The first characters of the answer; a partner that answered its status but stalls on the body is not waited
    for beyond one read timeout."""
    try:
        raw = response.raw.read(RESPONSE_BYTES, decode_content=True) or b""
    except (Urllib3Error, OSError):
        return ""
    return raw.decode("utf-8", errors="replace")[:RESPONSE_CHARS]


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
