"""Incoming webhooks (`/webhooks/...`): Stripe's, verified on the raw body before anything is read from it.

Answers: 400 when the signature does not match the body and STRIPE_WEBHOOK_SECRET or is older than the tolerance
(nothing is stored); 200 when the event was processed, and 200 again for a replay (Stripe stops retrying). An error
while processing rolls everything back and answers 500, so Stripe delivers the event again later.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace import stripe_gateway
from marketplace.services import payments


@csrf_exempt  # Stripe cannot send a CSRF token; the signature is the authentication
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Stripe's events: signature first (on the raw bytes), then each event id processed once."""
    try:
        event = stripe_gateway.event_from_webhook(request.body, request.headers.get("Stripe-Signature"))
    except stripe_gateway.BadSignature:
        return JsonResponse({"code": "bad_signature", "detail": "Invalid or stale Stripe-Signature."}, status=400)
    stored, is_new = payments.webhook_process(event=event)
    return JsonResponse({"received": stored.event_id, "replay": not is_new, "outcome": stored.outcome})


urlpatterns = [path("stripe/", stripe_webhook, name="stripe_webhook")]
