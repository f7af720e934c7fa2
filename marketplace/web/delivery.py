"""Web pages of the marketplace: delivery (filled in by the marketplace work)."""

urlpatterns: list = []
