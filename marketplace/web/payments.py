"""Web pages of the marketplace: payments (filled in by the marketplace work)."""

urlpatterns: list = []
