"""Regulator console for the marketplace, one module per area (importing them registers their ModelAdmins)."""

from marketplace.admin import contracts, delivery, demands, feedback, listings, payments  # noqa: F401
