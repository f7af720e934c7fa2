"""Incoming webhooks (`/webhooks/...`): Stripe's, verified on the raw body (filled in by the payments work)."""

urlpatterns: list = []
