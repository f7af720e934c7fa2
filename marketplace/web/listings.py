"""Web pages of the marketplace: listings (filled in by the marketplace work)."""

urlpatterns: list = []
