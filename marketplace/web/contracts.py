"""Web pages of the marketplace: contracts (filled in by the marketplace work)."""

urlpatterns: list = []
