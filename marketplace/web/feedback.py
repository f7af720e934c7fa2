"""Web pages of the marketplace: feedback (filled in by the marketplace work)."""

urlpatterns: list = []
