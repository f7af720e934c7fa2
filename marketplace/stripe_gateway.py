"""The one place that talks to Stripe: PaymentIntents, refunds, Connect transfers, and incoming webhook events.

- Amounts are `Decimal` yuan inside the app and integer fen (CNY's minor unit) at this boundary: `to_minor` and
  `from_minor` convert, and refuse an amount that is not a whole number of fen.
- Every POST carries an idempotency key, so a retried request (by the library or by us) never charges, refunds or
  transfers twice. Callers pass keys stored on their rows (Payment, Refund, Payout).
- Answers come back as plain dicts (what Stripe sent, recursively), never as StripeObjects.
- Stripe's errors become `PaymentGatewayError` (a DomainError: the web pages and the API show its message).

The client is built from settings.STRIPE_API_KEY and settings.STRIPE_API_BASE (localstripe in tests and `make run`).
"""

import functools
import json
import uuid
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

import stripe
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

CURRENCY = "cny"
FEN = Decimal("0.01")
# A webhook signed longer ago than this is refused (Stripe's own default): a captured request cannot be replayed.
WEBHOOK_TOLERANCE_SECONDS = 300
NETWORK_RETRIES = 2
# localstripe's Stripe.js confirms only a PaymentIntent waiting for 3-D Secure, so in that mode the server attaches
# this test card (one that asks for 3-D Secure) before the page opens; the buyer then completes or fails the check.
TEST_JS_CARD = {"number": "4000002500003155", "exp_month": 12, "exp_year": 2034, "cvc": "123"}

__all__ = [
    "CURRENCY",
    "BadSignature",
    "PaymentGatewayError",
    "charge_retrieve",
    "event_from_webhook",
    "from_minor",
    "intent_create",
    "intent_ready_for_test_js",
    "intent_retrieve",
    "new_idempotency_key",
    "refund_create",
    "to_minor",
    "transfer_create",
    "uses_test_js",
]


class PaymentGatewayError(DomainError):
    """Stripe refused the request or could not be reached; `message` is Stripe's, for people."""

    code = "stripe_error"
    status = 502
    default_message = _("The payment service could not complete the request. Try again in a moment.")


class BadSignature(Exception):
    """The webhook's Stripe-Signature does not match the body and the secret, or it is too old."""


# --- money ------------------------------------------------------------------------------------------------------


def to_minor(amount: Decimal) -> int:
    """Yuan → fen for Stripe; an amount with fractions of a fen is a bug upstream, so it raises ValueError."""
    fen = Decimal(amount) * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} CNY is not a whole number of fen")
    return int(fen)


def from_minor(fen: int) -> Decimal:
    """Fen from Stripe → yuan with two decimals."""
    return (Decimal(int(fen)) / 100).quantize(FEN, rounding=ROUND_HALF_UP)


def new_idempotency_key(prefix: str) -> str:
    """A fresh key to store on the row whose Stripe request it protects."""
    return f"{prefix}-{uuid.uuid4().hex}"


# --- the client -------------------------------------------------------------------------------------------------


@functools.cache
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(api_key, base_addresses={"api": api_base}, max_network_retries=NETWORK_RETRIES)


def _call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> dict:
    """Call the Stripe API; its answer as a dict, its refusal as PaymentGatewayError."""
    try:
        answer = method(*args, **kwargs)
    except stripe.StripeError as exc:
        raise PaymentGatewayError(exc.user_message or None, code=_error_code(exc)) from exc
    return answer.to_dict()


def _error_code(exc: stripe.StripeError) -> str:
    if isinstance(exc, stripe.CardError):
        return "card_declined"
    if isinstance(exc, stripe.APIConnectionError):
        return "stripe_unavailable"
    return "stripe_error"


def _v1() -> Any:
    return _client(settings.STRIPE_API_KEY, settings.STRIPE_API_BASE).v1


def _options(idempotency_key: str) -> dict:
    return {"idempotency_key": idempotency_key}


# --- PaymentIntents ---------------------------------------------------------------------------------------------


def intent_create(*, amount: Decimal, idempotency_key: str, metadata: dict[str, str]) -> dict:
    """A PaymentIntent for `amount` CNY, confirmed later in the browser by Stripe.js with its client secret."""
    params = {"amount": to_minor(amount), "currency": CURRENCY, "metadata": metadata}
    return _call(_v1().payment_intents.create, params, _options(idempotency_key))


def intent_retrieve(intent_id: str) -> dict:
    """The PaymentIntent as Stripe sees it now (status, last_payment_error, latest_charge, client_secret)."""
    return _call(_v1().payment_intents.retrieve, intent_id)


def uses_test_js() -> bool:
    """Whether the pay page loads localstripe's Stripe.js (anything not served by js.stripe.com)."""
    return urlsplit(settings.STRIPE_JS_URL).hostname != "js.stripe.com"


def intent_ready_for_test_js(intent: dict) -> dict:
    """localstripe only: attach a 3-D Secure test card and confirm, so its Stripe.js can finish the payment."""
    if intent.get("status") != "requires_payment_method" or intent.get("latest_charge"):
        return intent
    v1 = _v1()
    method = _call(v1.payment_methods.create, {"type": "card", "card": TEST_JS_CARD}, _options(_test_key("pm")))
    params = {"payment_method": method["id"]}
    _call(v1.payment_intents.update, intent["id"], params, _options(_test_key("pi")))
    return _call(v1.payment_intents.confirm, intent["id"], {}, _options(_test_key("confirm")))


def _test_key(prefix: str) -> str:
    return new_idempotency_key(f"test-js-{prefix}")


# --- refunds, charges, transfers --------------------------------------------------------------------------------


def refund_create(*, intent_id: str, amount: Decimal, idempotency_key: str, metadata: dict[str, str]) -> dict:
    """Give `amount` CNY of a PaymentIntent's charge back to the card."""
    params = {"payment_intent": intent_id, "amount": to_minor(amount), "metadata": metadata}
    return _call(_v1().refunds.create, params, _options(idempotency_key))


def charge_retrieve(charge_id: str) -> dict:
    """A charge, for its `amount_refunded` so far."""
    return _call(_v1().charges.retrieve, charge_id)


def transfer_create(*, amount: Decimal, destination: str, idempotency_key: str, metadata: dict[str, str]) -> dict:
    """A Stripe Connect transfer of `amount` CNY to a merchant's connected account (not available in localstripe)."""
    params = {"amount": to_minor(amount), "currency": CURRENCY, "destination": destination, "metadata": metadata}
    return _call(_v1().transfers.create, params, _options(idempotency_key))


# --- webhooks ---------------------------------------------------------------------------------------------------


def event_from_webhook(payload: bytes, signature: str | None) -> dict:
    """The event in a webhook body, after checking its signature (and its age) with STRIPE_WEBHOOK_SECRET.

    This is Webhook.construct_event's check (WebhookSignature.verify_header) without building a StripeObject tree
    we would only turn back into a dict.
    """
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=WEBHOOK_TOLERANCE_SECONDS
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as exc:  # ValueError: not JSON (or not UTF-8)
        raise BadSignature(str(exc)) from exc
    if not isinstance(event, dict) or event.get("object") != "event" or not event.get("id") or not event.get("type"):
        raise BadSignature("not a Stripe event")
    return event
