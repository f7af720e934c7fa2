"""Web pages of the marketplace: dashboards (filled in by the marketplace work)."""

urlpatterns: list = []
