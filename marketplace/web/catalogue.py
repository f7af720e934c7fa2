"""Web pages of the marketplace: catalogue (filled in by the marketplace work)."""

urlpatterns: list = []
