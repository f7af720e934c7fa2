"""Test helpers for Stripe: sign webhook bodies the way Stripe (and localstripe) does, and drive localstripe the way
a buyer's browser would.

- `signature_header(body)` is Stripe's `Stripe-Signature`: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with
  the endpoint secret (settings.STRIPE_WEBHOOK_SECRET unless told otherwise).
- `deliver(client, event)` posts an event to /webhooks/stripe/ signed like that.
- `confirm_with_card(intent_id, card)` attaches a test card to a PaymentIntent and confirms it on localstripe, as
  Stripe.js does in the browser with real Stripe. Cards: `VISA` (pm_card_visa, 4242 4242 4242 4242) goes through;
  `DECLINED` (pm_card_chargeCustomerFail, 4000 0000 0000 0341) is refused when charged. (localstripe's
  pm_card_visa_chargeDeclined is refused only when attached to a customer; a charge with it goes through.)
- `authenticate_like_stripe_js(checkout, success)` is what localstripe's own Stripe.js does in confirmCardPayment:
  it completes (or fails) the 3-D Secure step of a PaymentIntent the server prepared for it.
- `confirm_card_payment(client_secret, card)` is Stripe's own Stripe.js confirmCardPayment as far as localstripe can
  play it: the card typed in (a test card's PaymentMethod) is attached and the intent confirmed. `card_asking_3ds()`
  is a card (4000 0025 0000 3155) whose 3-D Secure check the buyer then completes or fails with
  `authenticate_like_stripe_js`. localstripe cannot confirm a PaymentIntent again once a charge on it was declined
  (real Stripe can): a second attempt on the same intent works only after a failed 3-D Secure check.
- `relay(client, type, object_id)` is Stripe calling the webhook: the event localstripe recorded, posted signed.
- `booked_sale(contract, amount)` is a payment that went through and its sale line, without Stripe (for the
  settlement pages and API).
- `event_from_localstripe(type, object_id)` fetches the event localstripe recorded (e.g. payment_intent.succeeded
  when a charge went through); localstripe records no refund events, so `charge_refunded_event` builds one from the
  charge as Stripe would send it.
"""

import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal

import requests
from django.conf import settings
from django.urls import reverse

from marketplace import stripe_gateway
from marketplace.choices import PaymentStatus
from marketplace.models import Payment
from marketplace.services import settlement

VISA = "pm_card_visa"
DECLINED = "pm_card_chargeCustomerFail"
CARD_ASKING_3DS = {"number": "4000002500003155", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
TIMEOUT = 10


def signature_header(body: bytes | str, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for `body`, as Stripe computes it."""
    body = body.decode() if isinstance(body, bytes) else body
    stamp = int(time.time()) if timestamp is None else timestamp
    key = (secret or settings.STRIPE_WEBHOOK_SECRET).encode()
    digest = hmac.new(key, f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def event(type_: str, obj: dict, *, event_id: str | None = None) -> dict:
    """A Stripe event wrapping `obj` (a snapshot of the object, as Stripe sends it)."""
    return {
        "id": event_id or f"evt_test_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "type": type_,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2024-06-20",
        "data": {"object": obj},
    }


def deliver(client, payload: dict | bytes, *, secret: str | None = None, timestamp: int | None = None, header=None):
    """POST an event to the webhook endpoint, signed (or with the `header` given)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = header if header is not None else signature_header(body, secret=secret, timestamp=timestamp)
    return client.post(
        reverse("stripe_webhook"), body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


# --- localstripe ------------------------------------------------------------------------------------------------


def _url(path: str) -> str:
    return settings.STRIPE_API_BASE.rstrip("/") + path


def _auth() -> dict:
    return {"Authorization": f"Bearer {settings.STRIPE_API_KEY}"}


def _post(path: str, data: dict) -> requests.Response:
    return requests.post(_url(path), data=data, headers=_auth(), timeout=TIMEOUT)


def intent(intent_id: str) -> dict:
    """The PaymentIntent as localstripe has it now."""
    return stripe_gateway.intent_retrieve(intent_id)


def confirm_with_card(intent_id: str, card: str = VISA) -> dict:
    """Attach `card` and confirm, as Stripe.js would; returns the PaymentIntent after it (declined or not)."""
    assert _post(f"/v1/payment_intents/{intent_id}", {"payment_method": card}).status_code == 200
    response = _post(f"/v1/payment_intents/{intent_id}/confirm", {})
    assert response.status_code in (200, 402), response.text  # 402: the card was declined
    return intent(intent_id)


def intent_id_of(client_secret: str) -> str:
    """The PaymentIntent a client secret belongs to (`pi_..._secret_...`)."""
    return client_secret.split("_secret_")[0]


def confirm_card_payment(client_secret: str, card: str = VISA) -> dict:
    """Stripe.js confirmCardPayment with the card the buyer typed in; the PaymentIntent after it."""
    return confirm_with_card(intent_id_of(client_secret), card)


def card_asking_3ds() -> str:
    """A new test card's PaymentMethod whose payment waits for the buyer's 3-D Secure check."""
    fields = {f"card[{name}]": value for name, value in CARD_ASKING_3DS.items()}
    response = _post("/v1/payment_methods", {"type": "card", **fields})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def authenticate_like_stripe_js(client_secret: str, *, success: bool = True) -> dict:
    """localstripe's Stripe.js confirmCardPayment: finish (or fail) 3-D Secure with the publishable key."""
    intent_id = intent_id_of(client_secret)
    response = requests.post(
        _url(f"/v1/payment_intents/{intent_id}/_authenticate?success={'true' if success else 'false'}"),
        data=json.dumps({"key": settings.STRIPE_PUBLISHABLE_KEY, "client_secret": client_secret}),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()


def event_from_localstripe(type_: str, object_id: str, *, attempts: int = 20) -> dict:
    """The event of `type_` about `object_id` that localstripe recorded (events are listed oldest first)."""
    since = int(time.time()) - 600
    for _ in range(attempts):
        found = _find_event(type_, object_id, since)
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"localstripe recorded no {type_} for {object_id}")


def _find_event(type_: str, object_id: str, since: int) -> dict | None:
    params = {"type": type_, "created[gte]": since, "limit": 100}
    while True:
        page = requests.get(_url("/v1/events"), params=params, headers=_auth(), timeout=TIMEOUT).json()
        for item in page["data"]:
            if item["data"]["object"].get("id") == object_id:
                return item
        if not page["has_more"] or not page["data"]:
            return None
        params["starting_after"] = page["data"][-1]["id"]


def relay(client, type_: str, object_id: str):
    """Stripe calling the webhook: the `type_` event localstripe recorded about `object_id`, delivered signed."""
    return deliver(client, event_from_localstripe(type_, object_id))


def charge_of(intent_id: str) -> dict:
    """The charge of a PaymentIntent, with its refunds so far."""
    latest = intent(intent_id)["latest_charge"]
    return stripe_gateway.charge_retrieve(latest["id"] if isinstance(latest, dict) else latest)


def charge_refunded_event(intent_id: str, *, amount_refunded: int | None = None) -> dict:
    """charge.refunded as Stripe sends it after a refund (localstripe sends none); `amount_refunded` in fen."""
    charge = charge_of(intent_id)
    charge.pop("refunds", None)  # recent API versions leave the list out too
    if amount_refunded is not None:
        charge["amount_refunded"] = amount_refunded
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    return event("charge.refunded", charge)


def refund_at_stripe(intent_id: str, amount: int | None = None) -> dict:
    """A refund made outside Databourse (e.g. in Stripe's dashboard); `amount` in fen, None for all of it."""
    data = {"payment_intent": intent_id, **({"amount": amount} if amount is not None else {})}
    response = _post("/v1/refunds", data)
    assert response.status_code == 200, response.text
    return response.json()


def booked_sale(contract, amount: str = "100.00") -> Payment:
    """A succeeded payment of `amount` CNY and its sale line, as the payments service books them (no Stripe)."""
    payment = Payment.objects.create(
        contract=contract, amount=Decimal(amount), status=PaymentStatus.SUCCEEDED,
        stripe_payment_intent=f"pi_booked_{uuid.uuid4().hex[:16]}", idempotency_key=uuid.uuid4().hex,
    )  # fmt: skip
    settlement.sale_record(payment=payment)
    return payment
