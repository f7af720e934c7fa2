"""Web pages of the marketplace: demands (filled in by the marketplace work)."""

urlpatterns: list = []
