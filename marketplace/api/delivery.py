"""Partner API of the marketplace: delivery.

`routes` lists (prefix, viewset, basename) for the router in marketplace/api/urls.py; `urlpatterns` holds any
other paths of this area under /api/v1/.
"""

routes: list = []
urlpatterns: list = []
