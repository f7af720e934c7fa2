"""Web pages of the marketplace, one module per area; each module has its views and its `urlpatterns`."""
