"""Regulator console (Django admin) for the marketplace: listings."""
