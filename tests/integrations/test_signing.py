"""Signatures: integrations.signing round-trips, refuses tampering and stale timestamps, and the snippet partners
copy from docs/partners-webhooks.md verifies what a real delivery sent."""

import re
import time
from pathlib import Path

import pytest
from django.conf import settings

from integrations import signing
from integrations.services import deliveries
from tests.factories.integrations import delivery_for, endpoint_for
from tests.integrations.receiver import Receiver

GUIDE = Path(settings.BASE_DIR) / "docs" / "partners-webhooks.md"
SECRET = "whsec_test_secret"
BODY = b'{"id":"1","type":"webhook.test","data":{}}'


def doc_snippet() -> str:
    """The Python block right after the `verify-snippet` marker of the partner guide."""
    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(r"<!-- verify-snippet[^>]*-->\s*```python\n(.*?)```", text, re.DOTALL)
    assert found, "the partner guide lost its verifying snippet"
    return found.group(1)


@pytest.fixture(scope="module")
def verify_from_docs():
    namespace: dict = {}
    exec(compile(doc_snippet(), str(GUIDE), "exec"), namespace)
    return namespace["verify_databourse_signature"]


def test_a_signature_verifies_and_names_its_time():
    header = signing.sign(SECRET, BODY, 1_795_248_000)

    assert header.startswith("t=1795248000,v1=")
    assert signing.verify(SECRET, BODY, header, now=1_795_248_000)


@pytest.mark.parametrize(
    ("secret", "body"), [("whsec_other", BODY), (SECRET, BODY + b" "), (SECRET, BODY.replace(b"1", b"2"))]
)
def test_another_secret_or_a_changed_body_does_not_verify(secret, body):
    header = signing.sign(SECRET, BODY, 1_795_248_000)

    assert not signing.verify(secret, body, header, now=1_795_248_000)


def test_an_old_or_future_timestamp_is_refused():
    header = signing.sign(SECRET, BODY, 1_795_248_000)

    assert signing.verify(SECRET, BODY, header, now=1_795_248_000 + 300)
    assert not signing.verify(SECRET, BODY, header, now=1_795_248_000 + 301)
    assert not signing.verify(SECRET, BODY, header, now=1_795_248_000 - 301)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=1795248000", "t=soon,v1=abc", "garbage"])
def test_malformed_headers_do_not_verify(header):
    assert not signing.verify(SECRET, BODY, header, now=1_795_248_000)


def test_any_of_several_v1_signatures_may_match():
    good = signing.sign(SECRET, BODY, 1_795_248_000).split(",")[1]

    assert signing.verify(SECRET, BODY, f"t=1795248000,v1=deadbeef,{good}", now=1_795_248_000)


def test_secrets_are_prefixed_and_random():
    first, second = signing.new_secret(), signing.new_secret()

    assert first.startswith("whsec_") and second.startswith("whsec_")
    assert first != second and len(first) > 40


def test_the_documented_snippet_agrees_with_the_library(verify_from_docs):
    now = int(time.time())
    header = signing.sign(SECRET, BODY, now)

    assert verify_from_docs(SECRET, BODY, header)
    assert not verify_from_docs(SECRET, BODY + b"x", header)
    assert not verify_from_docs("whsec_other", BODY, header)
    assert not verify_from_docs(SECRET, BODY, signing.sign(SECRET, BODY, now - 301))


def test_the_documented_snippet_verifies_a_real_delivery(org, verify_from_docs):
    # given a partner endpoint that records what it receives
    with Receiver() as receiver:
        endpoint = endpoint_for(org, url=receiver.url)
        delivery = delivery_for(endpoint)
        # when Databourse delivers an event to it
        result = deliveries.delivery_attempt(delivery_id=delivery.pk)
    # then the partner can verify the raw body it got with the secret and the documented function
    assert result["status"] == "succeeded"
    (request,) = receiver.received
    headers = request["headers"]
    assert verify_from_docs(endpoint.secret, request["body"], headers["Databourse-Signature"])
    assert not verify_from_docs(signing.new_secret(), request["body"], headers["Databourse-Signature"])
    assert headers["Databourse-Event"] == "product.registered"
    assert headers["Databourse-Delivery"] == str(delivery.pk)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
