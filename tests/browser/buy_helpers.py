"""The buyer's side of the browser journeys: signing in, the card on the pay page, and console errors a step expects.

localstripe's Stripe.js renders the card element inline (plain `<input>`s named by their placeholders: number,
exp_month, exp_year, cvc, postal_code; no iframe), but its confirmCardPayment ignores what was typed: it only plays
the 3-D Secure box for a PaymentIntent the server prepared with a card of its own (stripe_gateway.TEST_JS_CARD).
Stripe's own Stripe.js sends the card typed in to Stripe; `pay_with_card` does that part for it, handing localstripe
the typed card as the intent's payment method before the buyer presses Pay, so the card decides the outcome: 4242 4242
4242 4242 goes through, 4000 0000 0000 0341 is declined when charged.
"""

import re

import requests
from django.conf import settings

from tests.browser.conftest import Journey
from tests.marketplace.stripe_helpers import intent_id_of

VISA = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0341"
TIMEOUT = 10


def _localstripe(path: str, data: dict) -> dict:
    """A call to localstripe with the secret key, as Stripe's servers would act on Stripe.js's request."""
    response = requests.post(settings.STRIPE_API_BASE.rstrip("/") + path, data=data, timeout=TIMEOUT,
                             headers={"Authorization": f"Bearer {settings.STRIPE_API_KEY}"})  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


def fill_card(journey: Journey, number: str, *, expiry: tuple[str, str] = ("12", "34"), cvc: str = "123") -> None:
    """Type a test card into localstripe's card element, field by field as a person would."""
    element = journey.page.locator("[data-card-element]")
    fields = {"number": number.replace(" ", ""), "exp_month": expiry[0], "exp_year": expiry[1], "cvc": cvc,
              "postal_code": "266000"}  # fmt: skip
    for placeholder, value in fields.items():
        element.get_by_placeholder(placeholder, exact=True).fill(value)


def _typed_card(journey: Journey) -> dict:
    element = journey.page.locator("[data-card-element]")
    value = {name: element.get_by_placeholder(name, exact=True).input_value()
             for name in ("number", "exp_month", "exp_year", "cvc")}  # fmt: skip
    return {**value, "exp_year": f"20{value['exp_year']}"}


def hand_typed_card_to_stripe(journey: Journey) -> None:
    """What Stripe's own Stripe.js does with the card element: the typed card becomes the intent's payment method."""
    secret = journey.page.locator("[data-checkout]").get_attribute("data-client-secret")
    fields = {f"card[{name}]": value for name, value in _typed_card(journey).items()}
    method = _localstripe("/v1/payment_methods", {"type": "card", **fields})
    _localstripe(f"/v1/payment_intents/{intent_id_of(secret)}", {"payment_method": method["id"]})


def pay_with_card(journey: Journey, *, authenticate: bool = True) -> None:
    """Press Pay, then answer localstripe's 3-D Secure box (complete or fail the check)."""
    hand_typed_card_to_stripe(journey)
    journey.page.get_by_role("button", name=re.compile(r"^Pay ¥")).click()
    answer = "Complete authentication" if authenticate else "Fail authentication"
    journey.page.get_by_role("button", name=answer).click()
